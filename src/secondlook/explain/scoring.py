"""What batch scoring takes from explain: the reference a saved model's reasons are told
against, and the top reasons of a chunk of referrals.

``secondlook score`` has no training data, so it cannot rebuild the clean-record reference
(:func:`secondlook.features.reference.clean_record_reference` reads the training split). The
``train`` stage stores it in the model's ``metadata.json`` (``clean_record_reference``), from the
same rows the ``explain`` stage reads, so a scored referral's reasons are the ones its case
review pack gives, whichever ``explain.reference`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.errors import ModelFileError, ParamsError
from secondlook.explain.contributions import contributions
from secondlook.explain.reasons import ReasonColumns, top_reason_columns
from secondlook.models import CalibratedModel

__all__ = ["METADATA_KEY", "REFERENCES", "reason_columns", "saved_reference"]

#: ``explain.reference`` values
REFERENCES = ("clean_record", "mean")
#: the key of a model's ``metadata.json`` that holds its clean-record reference
METADATA_KEY = "clean_record_reference"


def saved_reference(
    metadata: Mapping[str, Any],
    inputs: Sequence[str],
    reference: str = "clean_record",
    *,
    source: str = "the model",
) -> pd.Series | None:
    """The reference a saved model's reasons are measured against.

    Parameters
    ----------
    metadata
        The model's ``metadata.json``.
    inputs
        The model's inputs, in order.
    reference
        ``explain.reference``: ``clean_record`` (the referral with nothing recorded stored
        with the model) or ``mean`` (the training mean: :func:`explain_model`'s default).
    source
        How to name the model in a message (e.g. ``models/logreg``).

    Returns
    -------
    pandas.Series or None
        One float per input (index ``inputs``); None for ``mean``.

    Raises
    ------
    ParamsError
        If ``reference`` is neither value.
    ModelFileError
        If the metadata stores no clean-record reference, or one that lacks an input.
    """
    if reference == "mean":
        return None
    if reference != "clean_record":
        raise ParamsError(
            f"params: `explain.reference` must be one of {', '.join(REFERENCES)}, got {reference!r}"
        )
    stored = metadata.get(METADATA_KEY)
    if not isinstance(stored, Mapping) or not stored:
        raise ModelFileError(
            f"{source}: metadata.json stores no `{METADATA_KEY}`, so its reasons cannot be "
            "measured against the clean record (a model trained before reasons were); "
            "retrain it (`dvc repro train`) or set `explain.reference: mean`"
        )
    missing = [c for c in inputs if c not in stored]
    if missing:
        raise ModelFileError(
            f"{source}: `{METADATA_KEY}` in metadata.json lacks input(s) "
            f"{', '.join(missing)}; the file does not belong to this model"
        )
    return pd.Series([float(stored[c]) for c in inputs], index=list(inputs), dtype=np.float64)


def reason_columns(
    model: CalibratedModel,
    X: pd.DataFrame,
    k: int,
    reference: pd.Series | None = None,
    margin: npt.ArrayLike | None = None,
) -> list[ReasonColumns]:
    """The top ``k`` reasons of every row, as columns, measured against ``reference``.

    Each reason is marked as the case review packs mark it when it goes against guidance
    (:func:`secondlook.explain.reasons.against_guidance`, the case's value compared with the
    clean record). Against the training mean (``reference`` None) batch scoring has no
    training data to compare a value with, so the mark is left unknown (None).

    Parameters
    ----------
    model
        The calibrated model.
    X
        Feature rows holding the model's inputs, shape (n_rows, ...).
    k
        Reasons per row.
    reference
        From :func:`saved_reference`; None: against the training mean.
    margin
        The model's margin of ``X``, shape (n_rows,), when the caller has it (checked
        against instead of computed again).

    Returns
    -------
    list of (features, sentences, contributions, against_guidance)
        As :func:`secondlook.explain.reasons.top_reason_columns`: the same reasons
        :func:`secondlook.explain.reasons.top_reasons` gives the case review packs.

    Raises
    ------
    secondlook.explain.AdditivityError
        If the contributions do not add up to the margin (checked on every call).
    """
    compare_to = None if reference is None else {str(c): float(v) for c, v in reference.items()}
    return top_reason_columns(
        contributions(model, X, reference=reference, margin=margin), k, compare_to
    )
