"""Plain-language reasons: the top contributions as sentences, and contributions by hidden factor.

A reason is one feature's contribution to one decision's margin, written with the feature
catalogue's template and the direction it pushed the score::

    "3 referrals about siblings in the last 36 months — raises the score"

:func:`factor_contributions` sums the contributions of the features that are evidence of each
hidden factor of the synthetic world (the catalogue's ``evidence_of``), which is what fidelity
compares with the truth's drivers and what a case review pack shows as "what the signals point to".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.features import CATALOGUE, reason_text
from secondlook.schema import FACTORS

if TYPE_CHECKING:
    import shap

    from secondlook.explain.contributions import Contributions

__all__ = [
    "AGAINST_GUIDANCE",
    "FACTOR_WORDS",
    "RAISES",
    "LOWERS",
    "ReasonColumns",
    "against_guidance",
    "evidence_map",
    "factor_contributions",
    "factor_presence",
    "reason_sentence",
    "top_reason_columns",
    "top_reasons",
]

RAISES = "raises the score"
LOWERS = "lowers the score"

#: each hidden factor in plain words (the truth table's ``driver_<factor>`` names as keys)
FACTOR_WORDS: dict[str, str] = {
    "drug": "parental drug misuse",
    "alcohol": "parental alcohol misuse",
    "mental_health": "parental mental ill-health",
    "domestic_abuse": "domestic abuse",
    "unassessed_violent_adult": "a violent adult in the household who was never assessed",
    "earlier_removal": "an earlier child removed into care",
    "young_parent": "a young parent",
    "deprivation": "deprivation",
    "disability": "the child's disability",
}
assert set(FACTOR_WORDS) == set(FACTORS), "every hidden factor needs words"

#: contributions smaller than this (in margin units) are not given as reasons
_NEGLIGIBLE = 1e-9


@functools.lru_cache(maxsize=65536)
def _sentence(feature: str, value: float) -> str:
    try:
        text = reason_text(feature, value)
    except KeyError:  # an input outside the catalogue (e.g. a study's ethnicity indicator)
        shown = int(value) if float(value).is_integer() else round(value, 2)
        text = f"{feature.replace('_', ' ')} = {shown}"
    return text[:1].upper() + text[1:]


def reason_sentence(feature: str, value: float, contribution: float) -> str:
    """One reason as a sentence: the catalogue's words for the value and the direction.

    Parameters
    ----------
    feature
        A feature name (from the catalogue; other names are written as ``name = value``).
    value
        The feature's value for the case.
    contribution
        Its signed contribution to the margin.

    Returns
    -------
    str
        E.g. ``"3 referrals about siblings in the last 36 months — raises the score"``.
    """
    direction = RAISES if contribution > 0 else LOWERS
    return f"{_sentence(feature, float(value))} — {direction}"


def _top(
    explanation: shap.Explanation | Contributions, k: int
) -> tuple[
    list[str],
    npt.NDArray[np.intp],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
]:
    """Feature names, and per row the top-``k`` columns, contributions, values and which count.

    A row's reasons are its first columns up to the first negligible contribution.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    values = np.asarray(explanation.values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-d explanation (rows x features), got {values.shape}")
    data = np.asarray(explanation.data, dtype=np.float64)
    names = list(explanation.feature_names)
    n, p = values.shape
    kk = min(k, p)
    if n == 0 or kk == 0:
        empty = np.zeros((n, 0))
        return names, empty.astype(np.intp), empty, empty, empty.astype(bool)
    size = np.abs(values)
    # top-k columns per row without a full sort, then order those k (ties: column order)
    if kk < p:
        cand = np.argpartition(-size, kk - 1, axis=1)[:, :kk]
    else:
        cand = np.tile(np.arange(p), (n, 1))
    cand = np.sort(cand, axis=1)
    order = np.argsort(-np.take_along_axis(size, cand, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(cand, order, axis=1)
    top_values = np.take_along_axis(values, top, axis=1)
    top_data = np.take_along_axis(data, top, axis=1)
    keep = np.logical_and.accumulate(np.abs(top_values) > _NEGLIGIBLE, axis=1)
    return names, top, top_values, top_data, keep


def top_reasons(explanation: shap.Explanation, k: int = 5) -> list[list[dict[str, Any]]]:
    """The ``k`` largest contributions of every row, largest magnitude first, as reasons.

    Parameters
    ----------
    explanation
        From :func:`secondlook.explain.explain_model`, shape (n_rows, n_features).
    k
        Reasons per row, >= 1. Rows with fewer non-zero contributions get fewer reasons.

    Returns
    -------
    list of list of dict
        One list per row; each reason is ``{"feature", "value", "contribution", "sentence"}``
        (``value`` and ``contribution`` are floats; the contribution is in margin units).
    """
    names, top, top_values, top_data, keep = _top(explanation, k)
    out: list[list[dict[str, Any]]] = []
    for i in range(top.shape[0]):
        row = []
        for j in range(top.shape[1]):
            if not keep[i, j]:
                break
            feature = names[top[i, j]]
            value = float(top_data[i, j])
            contribution = float(top_values[i, j])
            row.append(
                {
                    "feature": feature,
                    "value": value,
                    "contribution": contribution,
                    "sentence": reason_sentence(feature, value, contribution),
                }
            )
        out.append(row)
    return out


#: one rank of :func:`top_reason_columns`: every row's feature, sentence, contribution and mark
ReasonColumns = tuple[
    npt.NDArray[np.object_],
    npt.NDArray[np.object_],
    npt.NDArray[np.float64],
    npt.NDArray[np.object_],
]


def top_reason_columns(
    explanation: shap.Explanation | Contributions,
    k: int = 5,
    compare_to: Mapping[str, float] | None = None,
) -> list[ReasonColumns]:
    """:func:`top_reasons` as columns: for each rank, every row's feature, sentence, contribution
    and whether the reason goes against guidance.

    The same reasons as :func:`top_reasons`, without a Python object per row: each sentence is
    written once per distinct (feature, value, direction) of a rank, for batch scoring. The mark
    is :func:`against_guidance`, the rule the case review packs use, with the case's value
    compared with ``compare_to``.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features).
    k
        Reasons per row, >= 1.
    compare_to
        The reference's value of each input (the packs' ``compare_to``: the clean record, or
        the training mean). None: the mark is not known (``None`` in every row).

    Returns
    -------
    list of (features, sentences, contributions, against_guidance)
        ``min(k, n_features)`` tuples of arrays of shape (n_rows,): object arrays of strings
        (``None`` where a row has fewer reasons), float64 (``NaN`` there) and an object array
        of ``True``/``False`` (``None`` there, or everywhere without ``compare_to``).
    """
    names, top, top_values, top_data, keep = _top(explanation, k)
    n = top.shape[0]
    name_of = np.array(names + [None], dtype=object)
    out = []
    for j in range(top.shape[1]):
        rows = np.flatnonzero(keep[:, j])
        feature = np.full(n, None, dtype=object)
        sentence = np.full(n, None, dtype=object)
        contribution = np.full(n, np.nan)
        against = np.full(n, None, dtype=object)
        if len(rows):
            cols, value, contrib = top[rows, j], top_data[rows, j], top_values[rows, j]
            # the bit pattern of the value, so that distinct floats never share a sentence
            key = np.column_stack([cols, value.view(np.int64), contrib > 0])
            _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
            texts = np.array(
                [
                    reason_sentence(names[cols[r]], float(value[r]), float(contrib[r]))
                    for r in first.tolist()
                ],
                dtype=object,
            )
            feature[rows] = name_of[cols]
            sentence[rows] = texts[inverse.reshape(-1)]
            contribution[rows] = contrib
            if compare_to is not None:
                marks = np.array(
                    [
                        against_guidance(
                            names[cols[r]],
                            float(contrib[r]),
                            float(value[r]),
                            compare_to.get(names[cols[r]]),
                        )
                        is not None
                        for r in first.tolist()
                    ],
                    dtype=object,
                )
                against[rows] = marks[inverse.reshape(-1)]
        out.append((feature, sentence, contribution, against))
    return out


def evidence_map(feature_names: list[str]) -> dict[str, str | None]:
    """Feature -> the hidden factor it is evidence of (``None`` if none or not catalogued)."""
    catalogue = {s.name: s.evidence_of for s in CATALOGUE}
    return {f: catalogue.get(f) for f in feature_names}


def factor_contributions(explanation: shap.Explanation) -> pd.DataFrame:
    """Contributions summed by the hidden factor each feature is evidence of.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features).

    Returns
    -------
    pandas.DataFrame
        Shape (n_rows, len(FACTORS) + 1): one column per factor of
        :data:`secondlook.schema.FACTORS` (0 where no input is evidence of it) and ``other``
        (features that are evidence of no factor: age, the current concern's source…). Rows sum
        to the sum of the contributions.
    """
    values = np.asarray(explanation.values, dtype=np.float64)
    names = list(explanation.feature_names)
    evidence = evidence_map(names)
    columns = [*FACTORS, "other"]
    matrix: npt.NDArray[np.float64] = np.zeros((len(names), len(columns)))
    for j, name in enumerate(names):
        factor = evidence[name]
        matrix[j, columns.index(factor if factor is not None else "other")] = 1.0
    return pd.DataFrame(values @ matrix, columns=columns)


def factor_presence(explanation: shap.Explanation) -> pd.DataFrame:
    """Whether anything in each row's record is evidence of each hidden factor.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features); its ``data`` are the feature values.

    Returns
    -------
    pandas.DataFrame of bool
        Shape (n_rows, len(FACTORS)): True where at least one input that is evidence of the
        factor is non-zero (a count above 0, a "yes"). False means the record holds no sign of
        it, so a contribution of that factor comes from the absence of a record and must be
        worded so ("no record of domestic abuse").
    """
    data = np.asarray(explanation.data, dtype=np.float64)
    evidence = evidence_map(list(explanation.feature_names))
    out = {}
    for factor in FACTORS:
        cols = [j for j, f in enumerate(explanation.feature_names) if evidence[f] == factor]
        out[factor] = (data[:, cols] != 0).any(axis=1) if cols else np.zeros(len(data), bool)
    return pd.DataFrame(out)


#: what a pack says beside a reason that went against the catalogue's direction
AGAINST_GUIDANCE = {
    1: "guidance says this can only raise concern, but this model counted it as lowering the score",
    -1: "guidance says this can only lower concern, but this model counted it as raising the score",
}


def against_guidance(
    feature: str,
    contribution: float,
    value: float | None = None,
    reference: float | None = None,
) -> str | None:
    """The warning for a reason that moved the score against the catalogue's direction.

    A ``raises`` feature contradicts guidance when its value is above the reference's and it
    lowered the score (or below and raised it); a ``lowers`` feature the other way round.
    Against the clean record every guided feature sits at its "nothing recorded" end, so there
    a ``raises`` feature that lowered the score is a contradiction.

    Parameters
    ----------
    feature
        A feature name (outside the catalogue: never against guidance).
    contribution
        Its signed contribution.
    value, reference
        The case's value and the reference's (e.g. the clean record or the training mean).
        Without them the value is taken to be above the reference.

    Returns
    -------
    str or None
        :data:`AGAINST_GUIDANCE` text for a contradiction, else None.
    """
    from secondlook.features.catalogue import directions

    sign = directions([feature])[feature]
    moved = 1.0 if value is None or reference is None else float(np.sign(value - reference))
    if sign and moved and sign * moved * contribution < -_NEGLIGIBLE:
        return AGAINST_GUIDANCE[sign]
    return None
