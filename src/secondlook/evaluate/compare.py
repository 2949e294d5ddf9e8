"""The practice comparison and the seed-case table.

**Practice comparison.** Practice escalated K referrals of the test split to a section 47 enquiry.
At the same workload — each family escalating its own top K referrals by score — how many of the
referrals that warranted escalation would each have caught? The table gives the count caught, the
recall (share of warranted referrals caught) with a bootstrap interval, and the paired difference
from practice's recall. Ties in a family's score (the ``rules`` points) are broken by a seeded
random order, so the top K is well defined. The interval is conditional on each side's K choices
(they are fixed on the whole split, the referrals are resampled).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.evaluate.resample import weight_chunks

__all__ = ["PRACTICE", "top_k", "practice_comparison", "seed_case_table"]

#: the row name of practice in the comparison
PRACTICE = "practice"
_CHUNK = 200


def top_k(score: npt.ArrayLike, k: int, seed: int) -> npt.NDArray[np.bool_]:
    """Mask of the ``k`` highest scores, ties broken by a seeded random order.

    Parameters
    ----------
    score
        Shape (n_rows,).
    k
        How many to select, 0 <= k <= n_rows.
    seed
        Seed of the tie-breaking order.
    """
    s = np.asarray(score, dtype=np.float64)
    if not 0 <= k <= s.size:
        raise ValueError(f"k must be in 0..{s.size}, got {k}")
    tiebreak = np.random.default_rng(seed).random(s.size)
    order = np.lexsort((tiebreak, -s))
    mask = np.zeros(s.size, dtype=bool)
    mask[order[:k]] = True
    return mask


def practice_comparison(
    warranted: npt.ArrayLike,
    practice_escalated: npt.ArrayLike,
    scores: Mapping[str, npt.ArrayLike],
    *,
    n_boot: int,
    seed: int,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Referrals that warranted escalation caught by practice and by each family at practice's K.

    Parameters
    ----------
    warranted
        Shape (n_rows,), bool: the referral warranted escalation (the evaluation label).
    practice_escalated
        Shape (n_rows,), bool: practice made a section 47 enquiry.
    scores
        Family -> ranking score (the margin is best: it breaks calibration plateaus).
    n_boot, seed, ci
        Bootstrap replicates, seed, interval level.

    Returns
    -------
    pandas.DataFrame
        One row for practice, then one per family: ``who``, ``escalations``, ``caught``,
        ``warranted``, ``recall``, ``recall_lo``, ``recall_hi``, ``vs_practice``,
        ``vs_practice_lo``, ``vs_practice_hi`` (recall difference, family minus practice).
    """
    y = np.asarray(warranted).astype(bool)
    esc = np.asarray(practice_escalated).astype(bool)
    n, k = y.size, int(esc.sum())
    selections = {PRACTICE: esc}
    for i, (name, s) in enumerate(scores.items()):
        selections[name] = top_k(s, k, seed + i)
    names = list(selections)
    hits = np.column_stack([selections[w] & y for w in names]).astype(np.float64)
    reps: list[npt.NDArray[np.float64]] = []
    yf = y.astype(np.float64)
    for W in weight_chunks(n, n_boot, seed, _CHUNK):
        with np.errstate(invalid="ignore", divide="ignore"):
            reps.append((W @ hits) / (W @ yf)[:, None])
    rep = np.concatenate(reps)  # (n_boot, n_who)
    a = (1 - ci) / 2
    total = int(y.sum())
    rows = []
    for j, who in enumerate(names):
        caught = int(hits[:, j].sum())
        recall = caught / total if total else float("nan")
        lo, hi = np.nanquantile(rep[:, j], [a, 1 - a])
        dlo, dhi = np.nanquantile(rep[:, j] - rep[:, 0], [a, 1 - a])
        rows.append(
            {
                "who": who,
                "escalations": k,
                "caught": caught,
                "warranted": total,
                "recall": recall,
                "recall_lo": float(lo),
                "recall_hi": float(hi),
                "vs_practice": recall - (hits[:, 0].sum() / total if total else float("nan")),
                "vs_practice_lo": float(dlo),
                "vs_practice_hi": float(dhi),
            }
        )
    return pd.DataFrame(rows)


def seed_case_table(
    frame: pd.DataFrame,
    probability: Mapping[str, npt.ArrayLike],
    flags: Mapping[str, npt.ArrayLike],
    labels: list[str],
    prefixes: tuple[str, ...],
) -> pd.DataFrame:
    """The seed cases' decisions with each family's score and flag.

    Parameters
    ----------
    frame
        The evaluation feature table (``decision_id``, ``decision_date``, ``practice_outcome``,
        ``label_<x>`` columns).
    probability, flags
        Family -> calibrated probability / flag, aligned with ``frame``'s rows.
    labels
        The labels to show (``label_<x>`` columns present in ``frame``).
    prefixes
        Decision-id prefixes of the seed cases
        (:func:`secondlook.schema.seed_case_prefixes` of ``synth.vignettes``).

    Returns
    -------
    pandas.DataFrame
        One row per seed-case decision, in date order; ``<family>_score`` and ``<family>_flag``
        per family.
    """
    ids = frame["decision_id"].astype(str)
    mask = ids.str.startswith(prefixes).to_numpy() if prefixes else np.zeros(len(ids), bool)
    keep = ["decision_id", "person_id", "decision_date", "practice_outcome"]
    cols = [c for c in keep if c in frame.columns]
    cols += [f"label_{x}" for x in labels if f"label_{x}" in frame.columns]
    out = frame.loc[mask, cols].copy()
    for name in probability:
        out[f"{name}_score"] = np.asarray(probability[name])[mask]
        out[f"{name}_flag"] = np.asarray(flags[name]).astype(bool)[mask]
    sort = [c for c in ("decision_date", "decision_id") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)
