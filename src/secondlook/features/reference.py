"""The clean-record reference: a referral with nothing recorded, against which reasons are told.

Contributions measured against the population mean make absent evidence a reason ("no police
report ... lowers the score"). Measured against a **clean record** they say what in the record
raised (or lowered) the score. The reference is one referral:

- nothing recorded in the child's, the siblings', the household's or the adults' history: every
  count 0, every flag off, every "days since" at its none value (the catalogue's
  ``clean_value``);
- the child's own characteristics (age, unborn, not yet mobile, disability), the referral's
  source and its concern, and the adults living in the household at their most common values in
  the training split -- taken jointly within each block (the most common *combination* of the
  child's characteristics, the most common source, the most common concern), so the reference is
  a referral that could exist.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from secondlook.features.catalogue import CATALOGUE, reason_text

__all__ = ["REFERENCE_BLOCKS", "clean_record_reference", "reference_sentence"]

_SPECS = {s.name: s for s in CATALOGUE}

#: feature blocks whose most common *combination* the reference takes (prefix or names)
REFERENCE_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("age_months", "unborn", "not_yet_mobile", "disability"),
)


def _block_of(column: str, columns: list[str]) -> tuple[str, ...]:
    for block in REFERENCE_BLOCKS:
        if column in block:
            return tuple(c for c in block if c in columns)
    for prefix in ("source_", "concern_", "ethnicity_"):
        if column.startswith(prefix):
            return tuple(c for c in columns if c.startswith(prefix))
    return (column,)


def _mode_row(frame: pd.DataFrame) -> pd.Series:
    counts = frame.value_counts(sort=False).reset_index(name="_n")
    # the most common combination; ties go to the first in sorted order (deterministic)
    counts = counts.sort_values(list(frame.columns), kind="stable")
    best = counts.iloc[int(np.argmax(counts["_n"].to_numpy()))]
    return best[list(frame.columns)].astype(np.float64)


def clean_record_reference(train: pd.DataFrame, inputs: list[str]) -> pd.Series:
    """The clean-record reference referral for a model's inputs.

    Parameters
    ----------
    train
        The training feature table (for the most common values), with every column of
        ``inputs``; at least one row.
    inputs
        The model's inputs, in order.

    Returns
    -------
    pandas.Series
        Index ``inputs``, float64: the catalogue's ``clean_value`` where it has one, otherwise
        the most common value (jointly within a block) in ``train``.

    Raises
    ------
    ValueError
        If ``train`` is empty or lacks an input column.
    """
    missing = [c for c in inputs if c not in train.columns]
    if missing:
        raise ValueError(f"the reference needs column(s) missing from the table: {missing}")
    if len(train) == 0:
        raise ValueError("the reference needs at least one training row")
    values: dict[str, float] = {}
    for c in inputs:
        s = _SPECS.get(c)
        if s is not None and s.clean_value is not None:
            values[c] = float(s.clean_value)
    for c in inputs:
        if c in values:
            continue
        block = list(_block_of(c, inputs))
        row = _mode_row(train[block].astype(np.float64))
        values.update({str(k): float(v) for k, v in row.items()})
    return pd.Series([values[c] for c in inputs], index=pd.Index(inputs), dtype=np.float64)


def reference_sentence(reference: pd.Series) -> str:
    """One plain sentence saying what the reasons are measured against.

    Parameters
    ----------
    reference
        From :func:`clean_record_reference`.

    Returns
    -------
    str
    """
    parts = []
    if "age_months" in reference:
        parts.append(reason_text("age_months", float(reference["age_months"])))
    src = [c for c in reference.index if c.startswith("source_") and reference[c] >= 1]
    con = [c for c in reference.index if c.startswith("concern_") and reference[c] >= 1]
    if src:
        parts.append(reason_text(src[0], 1.0))
    if con:
        parts.append(reason_text(con[0], 1.0))
    about = "; ".join(parts)
    return (
        "Each reason says how much one part of the record moved the score compared with a "
        "referral with nothing recorded about the child, siblings, household or adults"
        + (f" ({about})" if about else "")
        + "."
    )
