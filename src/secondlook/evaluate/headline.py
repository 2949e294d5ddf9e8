"""The headline figures: the one metrics file ``dvc metrics show`` prints, and its details.

``dvc metrics show`` prints one table row per metrics file with one column per number, so only
a handful of numbers fit a terminal line: :func:`terminal_figures` picks the candidate's (its
ranking, recall, calibration, lead over practice, the price of interpretability and its largest
disparity) for ``headline.json``, the one file declared as DVC metrics. The details beside it
(``headline-families.json``, a plain output) hold what a person comparing two runs reads next.

The evaluate, fairness and explain stages write full tables (thousands of numbers). A person
comparing two runs needs a few dozen: each family's ranking figures with intervals, its
calibration, the practice comparison, the price of interpretability, the largest by-group
disparity whose whole interval lies outside the parity band, and the explanations' fidelity and
stability. :func:`headline` picks them from the stages' outputs; every number is rounded to
:data:`SIGNIFICANT` significant digits (and numbers below :data:`NEGLIGIBLE` in size to 0), so
a rerun on another CPU, whose last floating-point bits differ, writes the same file.

:func:`parity_verdict` is the one rule for saying whether a disparity ratio is inside or outside
the parity band: only when its whole interval is; otherwise the data are too uncertain to say.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from secondlook.evaluate.fairness import PARITY_BAND, parity_verdict

__all__ = [
    "SIGNIFICANT",
    "NEGLIGIBLE",
    "HEADLINE_METRICS",
    "DISPARITY_METRICS",
    "round_sig",
    "parity_verdict",
    "largest_disparity",
    "headline",
    "terminal_figures",
    "count_numbers",
    "run_headline",
]

#: significant digits of every published figure
SIGNIFICANT = 6
#: numbers smaller than this in size are published as 0 (floating-point noise, e.g. additivity)
NEGLIGIBLE = 1e-9
#: per-family figures in the headline (each with ``_lo`` and ``_hi`` where it has an interval)
HEADLINE_METRICS = ("auroc", "auprc", "brier", "ece", "precision", "recall")
#: by-group rates whose disparity ratio can make the fairness headline
DISPARITY_METRICS = ("flag_rate", "tpr", "fpr", "fnr", "ppv")
_BAND = PARITY_BAND


def round_sig(x: Any, digits: int = SIGNIFICANT) -> Any:
    """``x`` with every float rounded to ``digits`` significant digits, recursively.

    Dicts and lists are walked; floats below :data:`NEGLIGIBLE` in size become 0.0; NaN and
    infinities become None (JSON has no NaN); other values are returned unchanged.
    """
    if isinstance(x, Mapping):
        return {k: round_sig(v, digits) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [round_sig(v, digits) for v in x]
    if isinstance(x, bool) or not isinstance(x, float):
        return x
    if not math.isfinite(x):
        return None
    if abs(x) < NEGLIGIBLE:
        return 0.0
    return float(f"{x:.{digits}g}")


def largest_disparity(fairness: Mapping[str, Any], family: str) -> dict[str, Any] | None:
    """The by-group disparity furthest from parity among those surely outside the band.

    Parameters
    ----------
    fairness
        The content of the fairness stage's ``fairness.json``.
    family
        Which family's tables to search.

    Returns
    -------
    dict or None
        ``attribute``, ``group``, ``reference``, ``metric``, ``ratio``, ``ratio_lo``,
        ``ratio_hi``, ``value`` and ``reference_value`` of the cell whose ratio is furthest
        from 1 (on the log scale) among cells whose whole interval lies outside the parity band
        (suppressed cells never count); None if there is none.
    """
    band = tuple(fairness.get("parity_band") or _BAND)
    best: dict[str, Any] | None = None
    for attribute, entry in (fairness.get("families", {}).get(family) or {}).items():
        ref = str(entry.get("reference", ""))
        groups = entry.get("by_group", {})
        for group, cells in groups.items():
            if str(group) == ref:
                continue
            for metric in DISPARITY_METRICS:
                c = cells.get(metric)
                if not isinstance(c, Mapping):
                    continue  # suppressed
                r, lo, hi = c.get("ratio"), c.get("ratio_lo"), c.get("ratio_hi")
                if r is None or not (math.isfinite(r) and r > 0):
                    continue
                if parity_verdict(lo, hi, band) != "outside":  # type: ignore[arg-type]
                    continue
                size = abs(math.log(r))
                if best is None or size > best["_size"]:
                    ref_cell = groups.get(ref, {}).get(metric)
                    best = {
                        "_size": size,
                        "attribute": str(attribute),
                        "group": str(group),
                        "reference": ref,
                        "metric": metric,
                        "ratio": r,
                        "ratio_lo": lo,
                        "ratio_hi": hi,
                        "value": c.get("value"),
                        "reference_value": ref_cell.get("value")
                        if isinstance(ref_cell, Mapping)
                        else None,
                    }
    if best is not None:
        best.pop("_size")
    return best


def _fairness_counts(fairness: Mapping[str, Any], family: str) -> dict[str, int]:
    band = tuple(fairness.get("parity_band") or _BAND)
    counts = {"inside": 0, "outside": 0, "uncertain": 0}
    for entry in (fairness.get("families", {}).get(family) or {}).values():
        ref = str(entry.get("reference", ""))
        for group, cells in entry.get("by_group", {}).items():
            if str(group) == ref:
                continue
            for metric in DISPARITY_METRICS:
                c = cells.get(metric)
                if isinstance(c, Mapping) and c.get("ratio") is not None:
                    counts[parity_verdict(c.get("ratio_lo"), c.get("ratio_hi"), band)] += 1  # type: ignore[arg-type]
    return {f"ratios_{k}_band": v for k, v in counts.items()}


def headline(
    metrics: Mapping[str, Any],
    fairness: Mapping[str, Any] | None = None,
    fidelity: Mapping[str, Any] | None = None,
    stability: Mapping[str, Any] | None = None,
    additivity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The headline figures, rounded (see the module docstring).

    Parameters
    ----------
    metrics
        The evaluate stage's ``metrics.json``.
    fairness
        The fairness stage's ``fairness.json`` (or None when absent).
    fidelity, stability, additivity
        The explain stage's ``fidelity.json``, ``stability.json`` and ``summary.json``.

    Returns
    -------
    dict
        JSON-able: ``label``, ``candidate``, ``families`` (per family the
        :data:`HEADLINE_METRICS` with intervals, the fairness counts and largest disparity, and
        the explanation figures), ``price_of_interpretability`` and ``practice``.
    """
    families: dict[str, dict[str, Any]] = {}
    for f, m in (metrics.get("families") or {}).items():
        row: dict[str, Any] = {}
        for k in HEADLINE_METRICS:
            for suffix in ("", "_lo", "_hi"):
                if k + suffix in m:
                    row[k + suffix] = m[k + suffix]
        if fairness is not None:
            row["fairness"] = {
                **_fairness_counts(fairness, f),
                "largest_outside_band": largest_disparity(fairness, f),
            }
        expl: dict[str, Any] = {}
        if fidelity and f in fidelity and "not_available" in fidelity[f]:
            expl["fidelity"] = fidelity[f]["not_available"]  # real records: no truth
        elif fidelity and f in fidelity:
            expl |= {
                "fidelity_spearman": fidelity[f].get("spearman"),
                "fidelity_top_k_overlap": fidelity[f].get("top_k_overlap"),
            }
        if stability and f in stability:
            expl |= {
                "stability_kendall_tau_mean": stability[f].get("kendall_tau_mean"),
                "stability_top_k_same_mean": stability[f].get("top_k_same_mean"),
            }
        if additivity and f in additivity:
            expl["additivity_max_error"] = additivity[f].get("additivity_max_error")
        if expl:
            row["explanations"] = expl
        families[str(f)] = row
    out: dict[str, Any] = {
        "label": metrics.get("label"),
        "candidate": metrics.get("best_interpretable"),
        "n_test": metrics.get("n_test"),
        "prevalence": metrics.get("prevalence"),
        "families": families,
    }
    if metrics.get("ground_truth"):  # real records (data.source: cohort)
        out["ground_truth"] = metrics["ground_truth"]
        out["measured_against"] = f"{metrics.get('label')} (observed, not the truth)"
    price = metrics.get("price_of_interpretability")
    if price:
        out["price_of_interpretability"] = {
            k: price.get(k) for k in ("metric", "family", "gbm_minus_family", "lo", "hi")
        }
    practice = metrics.get("practice")
    if practice:
        out["practice_recall_at_same_workload"] = {
            who: {k: p.get(k) for k in ("recall", "recall_lo", "recall_hi")}
            for who, p in practice.items()
        }
    return dict(round_sig(out))


def terminal_figures(content: Mapping[str, Any]) -> dict[str, Any]:
    """The candidate's figures from :func:`headline`'s content, flat, for one terminal line.

    Returns
    -------
    dict
        ``candidate`` and, when computed, ``auroc``, ``auprc``, ``recall``, ``ece`` (its own),
        ``lead_over_practice`` (its recall minus practice's at practice's workload),
        ``price`` (gbm minus the candidate in the selection metric) and ``max_disparity`` (the
        ratio of its largest disparity surely outside the parity band; 1.0 when none is).
        Numbers are rounded as :func:`round_sig` does.
    """
    candidate = content.get("candidate")
    fam = (content.get("families") or {}).get(candidate) or {}
    out: dict[str, Any] = {"candidate": candidate}
    for k in ("auroc", "auprc", "recall", "ece"):
        if fam.get(k) is not None:
            out[k] = fam[k]
    practice = content.get("practice_recall_at_same_workload") or {}
    mine, theirs = (
        (practice.get(candidate) or {}).get("recall"),
        (practice.get("practice") or {}).get("recall"),
    )
    if mine is not None and theirs is not None:
        out["lead_over_practice"] = mine - theirs
    price = (content.get("price_of_interpretability") or {}).get("gbm_minus_family")
    if price is not None:
        out["price"] = price
    fairness = fam.get("fairness")
    if isinstance(fairness, Mapping):
        largest = fairness.get("largest_outside_band")
        out["max_disparity"] = largest.get("ratio") if isinstance(largest, Mapping) else 1.0
    return dict(round_sig(out))


def count_numbers(x: Any) -> int:
    """How many numbers (not booleans, not None) a JSON value holds: what DVC lists as metrics."""
    if isinstance(x, Mapping):
        return sum(count_numbers(v) for v in x.values())
    if isinstance(x, list | tuple):
        return sum(count_numbers(v) for v in x)
    return int(isinstance(x, int | float) and not isinstance(x, bool))


def _read(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def run_headline(
    metrics: Path,
    out: Path,
    *,
    fairness: Path | None = None,
    explanations: Path | None = None,
    details: Path | None = None,
) -> dict[str, Any]:
    """The ``headline`` stage: read the stages' JSON outputs, write ``out`` (and ``details``).

    Parameters
    ----------
    metrics
        The evaluate stage's ``metrics.json`` (required).
    out
        The headline file to write (written whole, after everything was read): the
        :func:`terminal_figures`, what ``dvc metrics show`` prints.
    fairness
        The fairness stage's ``fairness.json``; skipped when absent.
    explanations
        The explain stage's folder with ``fidelity.json``, ``stability.json`` and
        ``summary.json``; each skipped when absent.
    details
        Where to write the whole :func:`headline` content (every family); not written when
        None.

    Returns
    -------
    dict
        The whole :func:`headline` content.

    Raises
    ------
    MissingInputError
        If ``metrics`` does not exist (a ``FileNotFoundError``).
    """
    m = _read(metrics)
    if m is None:
        raise FileNotFoundError(
            f"{metrics} not found or not a JSON object (run `dvc repro evaluate`)"
        )
    folder = explanations
    content = headline(
        m,
        _read(fairness),
        _read(folder / "fidelity.json") if folder else None,
        _read(folder / "stability.json") if folder else None,
        _read(folder / "summary.json") if folder else None,
    )
    written = [(out, terminal_figures(content))]
    if details is not None:
        written.append((details, content))
    for path, data in written:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    return content
