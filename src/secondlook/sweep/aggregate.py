"""Aggregation over worlds: per scenario, across scenarios, and which findings hold everywhere.

- :func:`summarise` — per scenario and estimand: the number of worlds, mean, standard deviation
  (``ddof=1``), Monte Carlo standard error (``sd / sqrt(n)``; Morris, White & Crowther 2019,
  table 6), minimum and maximum.
- :func:`ranges` — across scenarios: the smallest and largest scenario mean of each estimand.
- :func:`findings` — for each directional finding (:data:`FINDINGS`), in how many worlds it
  holds and whether it holds in every world.

Pure: the table of worlds (one row each, as :func:`secondlook.sweep.task.run_world` returns)
in, tables and dicts out.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.sweep.task import ID_COLUMNS
from secondlook.synth.patterns import CONTROLS, SEED_PATTERNS

__all__ = [
    "EXTERNAL",
    "external_calibration",
    "HEADLINE",
    "Finding",
    "FINDINGS",
    "mcse",
    "interval_half_width",
    "summarise",
    "ranges",
    "findings",
    "summary_json",
]

#: the estimands summary.json carries and the forest plots show (those a row has)
HEADLINE = (
    "auroc.candidate.warrants_escalation",
    "auprc.candidate.warrants_escalation",
    "price_of_interpretability",
    "practice_recall",
    "lead_over_practice.candidate",
    "recall_at_capacity.candidate",
    "proxy_auroc.logreg.cp_plan_12m",
    "proxy_auroc.logreg.removal_12m",
    "proxy_recall_at_capacity.logreg.cp_plan_12m",
    "proxy_cost.logreg.cp_plan_12m",
    "fidelity_overlap.candidate",
    "max_disparity.ethnicity",
    "max_disparity.deprivation_quintile",
    *(f"pattern_recall.candidate.{p}" for p in SEED_PATTERNS),
    *(f"control_flag_rate.candidate.{c}" for c in CONTROLS),
    "n_referrals",
    "calibration.referrals_per_10k",
    "calibration_within",
)

#: external references: estimand -> (low, high, source); FACTS.md, "How well real risk models
#: predict": published models against their own proxy label, and What Works for CSC 2020's recall
#: at the top of the list (about 4 in 5 children at risk missed; a single figure, no band)
EXTERNAL: dict[str, tuple[float, float, str]] = {
    "proxy_auroc.logreg.cp_plan_12m": (
        0.76, 0.87, "published models' AUROC against their own proxy (NZ 0.76 ... Denmark > 0.87)"
    ),
    "proxy_auroc.logreg.removal_12m": (
        0.76, 0.87, "published models' AUROC against their own proxy (NZ 0.76 ... Denmark > 0.87)"
    ),
    "proxy_recall_at_capacity.logreg.cp_plan_12m": (
        0.2, 0.2, "What Works for CSC 2020: on average 4 in 5 children at risk missed"
    ),
    "proxy_recall_at_capacity.logreg.removal_12m": (
        0.2, 0.2, "What Works for CSC 2020: on average 4 in 5 children at risk missed"
    ),
}  # fmt: skip

#: columns that are not estimands
_NOT_ESTIMANDS = frozenset(ID_COLUMNS) | {"candidate", "seconds"}


def mcse(values: npt.ArrayLike) -> float:
    """Monte Carlo standard error of a mean: ``sd(values, ddof=1) / sqrt(n)`` over finite values.

    Parameters
    ----------
    values
        One estimate per world, shape (n_worlds,).

    Returns
    -------
    float
        NaN with fewer than two finite values.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    return float(np.std(v, ddof=1) / math.sqrt(v.size))


def interval_half_width(se: float, n: int, level: float = 0.95) -> float:
    """Half-width of the ``level`` interval of a mean over ``n`` worlds: ``t * se``.

    ``t`` is Student's t quantile ``(1 + level) / 2`` with ``n - 1`` degrees of freedom, the
    interval for a mean estimated from ``n`` values with an estimated standard deviation. With
    the few seeds of a sweep the normal quantile would understate the uncertainty: for 3
    worlds ``t`` is 4.30, not 1.96 (it reaches 2.09 at 20 worlds).

    Parameters
    ----------
    se
        The Monte Carlo standard error of the mean (:func:`mcse`).
    n
        The number of worlds it was computed from.
    level
        The interval's coverage, in (0, 1).

    Returns
    -------
    float
        NaN when ``n < 2`` or ``se`` is not finite.
    """
    if n < 2 or not math.isfinite(se):
        return math.nan
    from scipy.stats import t

    return float(t.ppf((1.0 + level) / 2.0, n - 1) * se)


def estimand_columns(worlds: pd.DataFrame) -> list[str]:
    """The numeric estimand columns of a worlds table, in its order."""
    return [
        c
        for c in worlds.columns
        if c not in _NOT_ESTIMANDS and pd.api.types.is_numeric_dtype(worlds[c])
    ]


def summarise(worlds: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and estimand: ``n``, ``mean``, ``sd``, ``mcse``, ``min``, ``max``.

    Parameters
    ----------
    worlds
        One row per world with a ``scenario`` column and numeric estimand columns.

    Returns
    -------
    pandas.DataFrame
        Long table ``scenario``, ``estimand``, ``n``, ``mean``, ``sd``, ``mcse``, ``min``,
        ``max``; scenarios in their order of first appearance, NaN values left out of each
        statistic (``n`` counts the finite ones).
    """
    rows = []
    for scenario, group in worlds.groupby("scenario", sort=False):
        for col in estimand_columns(worlds):
            v = group[col].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            rows.append(
                {
                    "scenario": scenario,
                    "estimand": col,
                    "n": int(v.size),
                    "mean": float(v.mean()) if v.size else math.nan,
                    "sd": float(np.std(v, ddof=1)) if v.size > 1 else math.nan,
                    "mcse": mcse(v),
                    "min": float(v.min()) if v.size else math.nan,
                    "max": float(v.max()) if v.size else math.nan,
                }
            )
    return pd.DataFrame(
        rows, columns=["scenario", "estimand", "n", "mean", "sd", "mcse", "min", "max"]
    )


def ranges(summary: pd.DataFrame) -> pd.DataFrame:
    """Across scenarios: the smallest and largest scenario mean of each estimand.

    Returns
    -------
    pandas.DataFrame
        ``estimand``, ``low``, ``low_scenario``, ``high``, ``high_scenario``.
    """
    rows = []
    for estimand, group in summary.groupby("estimand", sort=False):
        g = group[np.isfinite(group["mean"].to_numpy(dtype=np.float64))]
        if g.empty:
            continue
        lo, hi = g.loc[g["mean"].idxmin()], g.loc[g["mean"].idxmax()]
        rows.append(
            {
                "estimand": estimand,
                "low": float(lo["mean"]),
                "low_scenario": lo["scenario"],
                "high": float(hi["mean"]),
                "high_scenario": hi["scenario"],
            }
        )
    return pd.DataFrame(rows, columns=["estimand", "low", "low_scenario", "high", "high_scenario"])


@dataclasses.dataclass(frozen=True)
class Finding:
    """A directional finding the report states, tested in each world.

    Attributes
    ----------
    name
        Short key.
    text
        The finding as the report says it.
    test
        Row -> True (holds), False (fails) or None (not measurable in this world).
    """

    name: str
    text: str
    test: Callable[[pd.Series], bool | None]


def _greater(column: str, than: float = 0.0) -> Callable[[pd.Series], bool | None]:
    def test(row: pd.Series) -> bool | None:
        v = row.get(column)
        if v is None or not np.isfinite(float(v)):
            return None
        return bool(float(v) > than)

    return test


def _every_family_beats_practice(row: pd.Series) -> bool | None:
    cols = [
        c
        for c in row.index
        if str(c).startswith("lead_over_practice.") and c != "lead_over_practice.candidate"
    ]
    vals = [float(row[c]) for c in cols if np.isfinite(float(row[c]))]
    return all(v > 0 for v in vals) if vals else None


FINDINGS: tuple[Finding, ...] = (
    Finding(
        "candidate_beats_practice",
        "the candidate model catches more of the referrals that warranted escalation than "
        "practice did, at practice's own workload",
        _greater("lead_over_practice.candidate"),
    ),
    Finding(
        "every_family_beats_practice",
        "every model family catches more than practice at practice's workload",
        _every_family_beats_practice,
    ),
    Finding(
        "black_box_ranks_better",
        "the black-box reference (gbm) ranks better than the best interpretable family "
        "(a positive price of interpretability)",
        _greater("price_of_interpretability"),
    ),
    Finding(
        "proxy_costs_accuracy.cp_plan_12m",
        "training on the child-protection-plan proxy costs accuracy against the truth",
        _greater("proxy_cost.logreg.cp_plan_12m"),
    ),
    Finding(
        "proxy_costs_accuracy.removal_12m",
        "training on the removal proxy costs accuracy against the truth",
        _greater("proxy_cost.logreg.removal_12m"),
    ),
    Finding(
        "disparity_outside_band.ethnicity",
        "the candidate's flag rate of some ethnic group lies outside the parity band",
        _greater("outside_band.ethnicity", 0.5),
    ),
    Finding(
        "disparity_outside_band.deprivation_quintile",
        "the candidate's flag rate of some deprivation quintile lies outside the parity band",
        _greater("outside_band.deprivation_quintile", 0.5),
    ),
)


def findings(worlds: pd.DataFrame, items: Sequence[Finding] = FINDINGS) -> dict[str, Any]:
    """For each finding, in how many worlds it holds and whether it holds in every world.

    Parameters
    ----------
    worlds
        One row per world.
    items
        The findings to test.

    Returns
    -------
    dict
        ``{name: {"text", "worlds" (measurable), "holds" (count), "holds_in_every_world",
        "fails_in" (list of "scenario/seed")}}``; ``holds_in_every_world`` is None when no
        world could measure it.
    """
    out: dict[str, Any] = {}
    for f in items:
        results = [(row, f.test(row)) for _, row in worlds.iterrows()]
        measured = [(row, r) for row, r in results if r is not None]
        holds = sum(bool(r) for _, r in measured)
        out[f.name] = {
            "text": f.text,
            "worlds": len(measured),
            "holds": holds,
            "holds_in_every_world": (holds == len(measured)) if measured else None,
            "fails_in": [f"{row['scenario']}/{row['seed']}" for row, r in measured if not r],
        }
    return out


def external_calibration(summary: pd.DataFrame) -> dict[str, Any]:
    """Each scenario's mean of the :data:`EXTERNAL` estimands beside the published reference.

    Parameters
    ----------
    summary
        :func:`summarise`'s table.

    Returns
    -------
    dict
        ``{estimand: {"reference": [low, high], "source", "scenarios": {name: {"mean",
        "within"}}}}``; ``within`` is None for a single-figure reference (What Works' recall is
        a reference line, not a tolerance).
    """
    out: dict[str, Any] = {}
    for name, (low, high, source) in EXTERNAL.items():
        part = summary[summary["estimand"] == name]
        if part.empty:
            continue
        scenarios = {}
        for r in part.to_dict("records"):
            mean = float(r["mean"])
            within = bool(low <= mean <= high) if high > low and np.isfinite(mean) else None
            scenarios[str(r["scenario"])] = {"mean": _round(mean), "within": within}
        out[name] = {"reference": [low, high], "source": source, "scenarios": scenarios}
    return out


def _round(x: float, digits: int = 4) -> float | None:
    return round(float(x), digits) if np.isfinite(float(x)) else None


def summary_json(
    design: Any, worlds: pd.DataFrame, headline: Sequence[str] = HEADLINE
) -> dict[str, Any]:
    """The small metrics file ``summary.json``: headline estimands per scenario, their range
    across scenarios, and the findings.

    Parameters
    ----------
    design
        The :class:`~secondlook.sweep.design.Design`.
    worlds
        One row per world.
    headline
        Estimands to include (those missing from ``worlds`` are skipped).

    Returns
    -------
    dict
        JSON-ready; numbers rounded to 4 decimals.
    """
    table = summarise(worlds)
    spans = {
        str(r["estimand"]): (float(r["low"]), float(r["high"]))
        for r in ranges(table).to_dict("records")
    }
    estimands: dict[str, Any] = {}
    for name in headline:
        part = table[table["estimand"] == name]
        if part.empty:
            continue
        entry: dict[str, Any] = {
            str(r["scenario"]): {
                "mean": _round(r["mean"]),
                "sd": _round(r["sd"]),
                "mcse": _round(r["mcse"]),
                "n": int(r["n"]),
            }
            for r in part.to_dict("records")
        }
        if name in spans:
            entry["range"] = [_round(spans[name][0]), _round(spans[name][1])]
        estimands[name] = entry
    return {
        "design": design.name,
        "description": design.description,
        "scenarios": [s.name for s in design.scenarios],
        "seeds": list(design.seeds),
        "n_households": design.n_households,
        "n_worlds": len(worlds),
        "estimands": estimands,
        "external_calibration": external_calibration(table),
        "findings": findings(worlds),
    }
