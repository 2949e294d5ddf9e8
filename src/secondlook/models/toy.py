"""A tiny feature table with a planted signal, for tests and benchmarks.

It follows the feature-table contract (ids, dates, numeric features, ``label_<x>`` for every
label, ``group_*`` columns, ``practice_outcome``) so the train and evaluate stages run on it end
to end without the generator. The truth is planted: ``TOY_COEF`` gives the log-odds each feature
adds to the true risk, and ``label_warrants_escalation`` is ``risk >= 0.15``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from secondlook.schema import ETHNICITIES, LABELS

__all__ = ["TOY_COEF", "TOY_INPUTS", "toy_feature_table", "toy_model_inputs"]

#: log-odds of the planted true risk per unit of each feature
TOY_COEF = {
    "bruising_non_mobile": 3.0,
    "sibling_ever_removed": 1.5,
    "referrals_12m": 0.5,
    "unassessed_adult_named_in_da": 1.5,
    "unborn_earlier_removal": 2.0,
    "signal_continuous": 1.0,
}
TOY_INTERCEPT = -4.0

#: model inputs of the toy table
TOY_INPUTS = (
    "bruising_non_mobile",
    "sibling_ever_removed",
    "referrals_12m",
    "sibling_referrals_36m",
    "unassessed_adult_named_in_da",
    "unborn_earlier_removal",
    "unexplained_injuries_12m",
    "cp_plan_active",
    "concern_physical_injury",
    "concern_sexual",
    "not_yet_mobile",
    "police_domestic_12m",
    "signal_continuous",
    "noise_continuous",
)


def toy_model_inputs(columns: list[str], *, include_deprivation: bool = False) -> list[str]:
    """The toy table's model inputs (stands in for ``secondlook.features.model_inputs``)."""
    out = [c for c in TOY_INPUTS if c in columns]
    if include_deprivation and "group_deprivation_quintile" in columns:
        out.append("group_deprivation_quintile")
    return out


def toy_feature_table(
    n: int, seed: int = 0, *, start: str = "2018-01-01", seed_cases: bool = True
) -> pd.DataFrame:
    """A feature table of ``n`` referrals with a planted signal.

    Parameters
    ----------
    n
        Number of rows.
    seed
        Seed of the generator.
    start
        First decision date; dates run daily from it.
    seed_cases
        Whether the first two rows are seed-case decisions (``sarah-…``, ``john-…``).

    Returns
    -------
    pandas.DataFrame
        Shape (n, ...), with the columns of the feature-table contract.
    """
    rng = np.random.default_rng(seed)
    not_yet_mobile = (rng.random(n) < 0.15).astype(np.int64)
    f = pd.DataFrame(
        {
            "not_yet_mobile": not_yet_mobile,
            "bruising_non_mobile": rng.binomial(1, 0.08, n) * not_yet_mobile,
            "sibling_ever_removed": rng.binomial(1, 0.08, n),
            "referrals_12m": rng.poisson(0.8, n),
            "sibling_referrals_36m": rng.poisson(1.0, n),
            "unassessed_adult_named_in_da": rng.binomial(1, 0.1, n),
            "unborn_earlier_removal": rng.binomial(1, 0.03, n),
            "unexplained_injuries_12m": rng.poisson(0.1, n),
            "cp_plan_active": rng.binomial(1, 0.05, n),
            "concern_physical_injury": rng.binomial(1, 0.2, n),
            "concern_sexual": rng.binomial(1, 0.03, n),
            "police_domestic_12m": rng.poisson(0.4, n),
            "signal_continuous": rng.normal(size=n),
            "noise_continuous": rng.normal(size=n),
        }
    )
    logit = TOY_INTERCEPT + sum(coef * f[c].to_numpy(float) for c, coef in TOY_COEF.items())
    risk = 1 / (1 + np.exp(-logit))
    harm = rng.random(n) < risk
    labels = {
        "warrants_escalation": risk >= 0.15,
        "harm_12m_no_action": harm,
        "harm_12m_observed": harm & (rng.random(n) < 0.7),
        "cp_plan_12m": rng.random(n) < 0.6 * risk + 0.01,
        "rereferral_12m": rng.random(n) < 0.3 + 0.3 * risk,
        "removal_12m": rng.random(n) < 0.1 * risk,
    }
    assert set(labels) == set(LABELS)
    # practice sees the concern and part of the risk, with noise
    latent = 0.6 * logit + 1.5 * f["concern_physical_injury"] + rng.normal(scale=1.2, size=n)
    practice = np.where(latent > 0.3, "s47", np.where(latent > -2.5, "assessment", "nfa"))
    ids = [f"d{i:06d}" for i in range(n)]
    if seed_cases and n >= 2:
        ids[0], ids[1] = "sarah-r01", "john-r01"
    meta = pd.DataFrame(
        {
            "decision_id": ids,
            "person_id": [f"p{i // 2:06d}" for i in range(n)],
            "household_id": [f"h{i // 4:06d}" for i in range(n)],
            "decision_date": pd.Timestamp(start) + pd.to_timedelta(np.arange(n) % 2000, unit="D"),
            "referral_event_id": [f"e{i:06d}" for i in range(n)],
        }
    )
    groups = pd.DataFrame(
        {
            "group_ethnicity": rng.choice(np.array(ETHNICITIES), n),
            "group_deprivation_quintile": rng.integers(1, 6, n),
            "group_sex": rng.choice(np.array(["F", "M"]), n),
            "group_disability": rng.random(n) < 0.06,
            "group_local_authority": rng.choice(np.array(["LA01", "LA02", "LA03"]), n),
            "practice_outcome": practice,
        }
    )
    label_cols = pd.DataFrame({f"label_{k}": v for k, v in labels.items()})
    return pd.concat([meta, f, label_cols, groups], axis=1)
