"""Point-in-time features and the feature catalogue.

- :func:`build_features` -- the one code path for training and scoring;
- :data:`CATALOGUE`, :func:`reason_text`, :func:`catalogue_version` -- what each feature means;
- :func:`model_inputs` -- the one function that says which columns a model may read.
"""

from __future__ import annotations

from collections.abc import Iterable

from secondlook.features.build import ID_COLUMNS, build_features
from secondlook.features.catalogue import (
    CATALOGUE,
    FAMILIES,
    FeatureSpec,
    catalogue_version,
    feature_names,
    reason_text,
    render_markdown,
    spec,
)

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "ID_COLUMNS",
    "NEVER_INPUT_PREFIXES",
    "FeatureSpec",
    "build_features",
    "catalogue_version",
    "feature_names",
    "model_inputs",
    "reason_text",
    "render_markdown",
    "spec",
]

#: column prefixes that are never a model input, whatever the catalogue says
NEVER_INPUT_PREFIXES = (
    "label_",
    "group_",
    "driver_",
    "state_",
    "true_",
    "baseline_",
    "harm_",
    "practice_",
)


def model_inputs(
    columns: Iterable[str], *, include_deprivation: bool = False, include_practice: bool = True
) -> list[str]:
    """The columns of a feature table that a model may read, in table order.

    Only catalogue features qualify; identifiers, dates, labels (``label_``), group attributes
    (``group_``), practice's decision and every truth-table column are never inputs. Catalogue
    features flagged as group attributes (``deprivation_decile``) are inputs only when asked.

    Parameters
    ----------
    columns
        Column names of a feature table.
    include_deprivation
        Whether ``deprivation_decile`` is an input (``features.include_deprivation``).
    include_practice
        Whether the catalogue's ``practice`` features (what practice decided) are inputs
        (``features.practice_features: include``); False keeps signals only.

    Returns
    -------
    list of str
    """
    catalogue = {s.name: s for s in CATALOGUE}
    chosen = []
    for column in columns:
        s = catalogue.get(column)
        if s is None or column in ID_COLUMNS or column.startswith(NEVER_INPUT_PREFIXES):
            continue
        if s.group_attribute and not (include_deprivation and column == "deprivation_decile"):
            continue
        if not include_practice and s.kind == "practice":
            continue
        chosen.append(column)
    return chosen
