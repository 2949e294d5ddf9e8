"""Which decisions get a case review pack: a seeded sample stratified by kind of outcome.

A panel that sees only flagged referrals never sees what the model misses or where it sends a
family for a second look without cause. :func:`pack_sample` draws the packs evenly from three
kinds of test decision, and the seed cases are added whatever their outcome:

- ``flagged_warranted``: flagged, and the referral warranted escalation;
- ``flagged_not_warranted``: flagged, but it did not (a family looked at again without cause);
- ``missed``: it warranted escalation and was not flagged.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["PACK_KINDS", "SEED_KIND", "pack_kind", "pack_sample"]

#: kind -> how the index of packs names it
PACK_KINDS: dict[str, str] = {
    "flagged_warranted": "Flagged, and escalation was warranted",
    "flagged_not_warranted": "Flagged, but escalation was not warranted",
    "missed": "Not flagged, but escalation was warranted (missed)",
}
#: the kind of a seed-case decision's pack (listed first on the index)
SEED_KIND = "seed_case"


def pack_kind(flagged: bool, warranted: bool) -> str:
    """The kind of one decision's outcome; ``"not_flagged_not_warranted"`` is not sampled."""
    if flagged:
        return "flagged_warranted" if warranted else "flagged_not_warranted"
    return "missed" if warranted else "not_flagged_not_warranted"


def pack_sample(
    flag: npt.ArrayLike, warranted: npt.ArrayLike, n_packs: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Row indices of the packs and their kinds, drawn evenly from :data:`PACK_KINDS`.

    Parameters
    ----------
    flag
        Whether each test decision is flagged by the pack's model, shape (n_rows,).
    warranted
        Whether each warranted escalation (the truth), shape (n_rows,).
    n_packs
        Packs to draw in all, >= 0. They are dealt to the kinds in turn (so the first kinds get
        one more when it does not divide); a kind with too few rows gives what it has and the
        rest go to the other kinds, so the total is ``min(n_packs, rows of those kinds)``.
    rng
        The seeded generator (the same seed gives the same sample).

    Returns
    -------
    rows, kinds
        Sorted row indices, shape (n,), and each row's kind.
    """
    f = np.asarray(flag, dtype=bool)
    w = np.asarray(warranted, dtype=bool)
    if f.shape != w.shape:
        raise ValueError(f"flag {f.shape} and warranted {w.shape} differ in shape")
    if n_packs < 0:
        raise ValueError(f"n_packs must be >= 0, got {n_packs}")
    pools = {
        "flagged_warranted": np.flatnonzero(f & w),
        "flagged_not_warranted": np.flatnonzero(f & ~w),
        "missed": np.flatnonzero(~f & w),
    }
    # quotas dealt one at a time in turn, skipping kinds whose pool is used up
    quota = dict.fromkeys(pools, 0)
    left = min(n_packs, sum(p.size for p in pools.values()))
    while left > 0:
        for k, pool in pools.items():
            if left > 0 and quota[k] < pool.size:
                quota[k] += 1
                left -= 1
    rows: list[int] = []
    kinds: list[str] = []
    for k, pool in pools.items():
        if quota[k]:
            rows += [int(r) for r in np.sort(rng.choice(pool, size=quota[k], replace=False))]
        kinds += [k] * quota[k]
    order = np.argsort(rows, kind="stable")
    return np.asarray(rows, dtype=np.int64)[order], [kinds[i] for i in order]
