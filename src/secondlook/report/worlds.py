"""The report's cross-world section: how much the findings depend on the invented world.

Reads what ``secondlook sweep`` wrote for one design (``reports/sweep/<design>/``:
``summary.json`` and the forest plots) and turns it into the :class:`~secondlook.report.model.Worlds`
section and one sentence for the summary. A finding that does not hold in every world is said
to, with the worlds where it fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.report.evidence import need, read_json
from secondlook.report.fmt import fmt_num, png_file
from secondlook.report.model import Figure, Table, Worlds
from secondlook.report.plots import png_data_uri
from secondlook.sweep.plots import forest_figure

__all__ = ["ESTIMAND_TEXT", "worlds_section", "worlds_summary_point"]

#: headline estimand -> (plain name, digits) in the section's table and plots' captions
ESTIMAND_TEXT: dict[str, tuple[str, int]] = {
    "auroc.candidate.warrants_escalation": ("candidate's AUROC against the truth", 3),
    "auprc.candidate.warrants_escalation": ("candidate's AUPRC against the truth", 3),
    "price_of_interpretability": ("price of interpretability (AUPRC, gbm minus candidate)", 3),
    "practice_recall": ("practice's recall of warranted referrals", 3),
    "lead_over_practice.candidate": ("candidate's lead over practice (recall, same workload)", 3),
    "recall_at_capacity.candidate": ("candidate's recall at the capacity cut", 3),
    "proxy_auroc.logreg.cp_plan_12m": ("logistic AUROC, trained and evaluated on a plan (proxy)", 3),
    "proxy_auroc.logreg.removal_12m": ("logistic AUROC, trained and evaluated on removal (proxy)", 3),
    "proxy_recall_at_capacity.logreg.cp_plan_12m": ("plan-trained logistic model's recall of plans at the capacity cut", 3),
    "proxy_recall_at_capacity.logreg.removal_12m": ("removal-trained logistic model's recall of removals at the capacity cut", 3),
    "proxy_cost.logreg.cp_plan_12m": ("AUROC on the truth lost by training on the plan proxy", 3),
    "fidelity_overlap.candidate": ("candidate's top-3 reasons overlapping the true drivers", 3),
    "max_disparity.ethnicity": ("largest flag-rate ratio between ethnic groups", 2),
    "max_disparity.deprivation_quintile": ("largest flag-rate ratio between deprivation quintiles", 2),
    "n_referrals": ("referrals in the world", 0),
    "calibration.referrals_per_10k": ("referrals per 10,000 children a year", 0),
    "calibration_within": ("calibration figures within tolerance (of 22)", 1),
}  # fmt: skip

_PRODUCED_BY = "dvc repro sweep-observability (or secondlook sweep <design>)"


def _worlds_table(path: Path) -> pd.DataFrame | None:
    """The sweep's ``worlds.csv`` (one row per world), or None when absent or empty."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None
    return frame if "scenario" in frame.columns else None


def _mean_cell(stats: Mapping[str, Any], digits: int) -> str:
    mean, se = stats.get("mean"), stats.get("mcse")
    if mean is None:
        return "not computed"
    text = fmt_num(mean, digits)
    if se is not None:
        text += f" ± {fmt_num(1.96 * float(se), digits)}"
    return text


def _finding_sentence(name: str, f: Mapping[str, Any], text: str) -> str:
    worlds, holds = int(f.get("worlds", 0)), int(f.get("holds", 0))
    if not worlds:
        return f"{text[0].upper()}{text[1:]}: not measurable in any world."
    if f.get("holds_in_every_world"):
        return f"{text[0].upper()}{text[1:]}: holds in every world ({worlds} of {worlds})."
    where = ", ".join(f.get("fails_in", [])[:6])
    return (
        f"{text[0].upper()}{text[1:]}: does NOT hold in every world — {holds} of {worlds} "
        f"(fails in {where})."
    )


def worlds_section(folder: Path | None, root: Path | None) -> Worlds:
    """Build the section from a sweep's output folder.

    Parameters
    ----------
    folder
        ``reports/sweep/<design>`` (``summary.json``, ``plots/``), or None when no sweep is
        part of this report.
    root
        Paths under it are shown relative to it when missing.

    Returns
    -------
    Worlds
        With ``missing`` set when the summary is absent.
    """
    if folder is None:
        return Worlds(missing=need([Path("reports/sweep")], _PRODUCED_BY, None))
    missing = need([folder / "summary.json"], _PRODUCED_BY, root)
    if missing:
        return Worlds(missing=missing)
    data = read_json(folder / "summary.json")
    scenarios = [str(s) for s in data.get("scenarios", [])]
    estimands = data.get("estimands", {})
    rows = []
    for name, (label, digits) in ESTIMAND_TEXT.items():
        entry = estimands.get(name)
        if not entry:
            continue
        cells = [_mean_cell(entry.get(s, {}), digits) for s in scenarios]
        span = entry.get("range") or [None, None]
        rows.append((label, *cells, f"{fmt_num(span[0], digits)} to {fmt_num(span[1], digits)}"))
    seeds = data.get("seeds", [])
    table = Table(
        caption=f"Each estimand by scenario: mean over {len(seeds)} worlds ± 1.96 Monte Carlo "
        "standard errors, and the range of the scenario means",
        columns=("estimand", *(s.replace("_", " ") for s in scenarios), "range across scenarios"),
        rows=tuple(rows),
        note="The ± is the uncertainty of the mean from the finite number of seeds, not the "
        "spread of the worlds (the plots show every world as a dot).",
    )
    findings = tuple(
        _finding_sentence(name, f, str(f.get("text") or name))
        for name, f in data.get("findings", {}).items()
    )
    ext_rows = []
    for name, e in data.get("external_calibration", {}).items():
        low, high = e.get("reference", [None, None])
        ref = f"{low}" if low == high else f"{low} to {high}"
        for s, v in e.get("scenarios", {}).items():
            within = v.get("within")
            ext_rows.append(
                (
                    ESTIMAND_TEXT.get(name, (name, 3))[0],
                    s.replace("_", " "),
                    fmt_num(v.get("mean"), 3),
                    ref,
                    "reference line" if within is None else ("inside" if within else "OUTSIDE"),
                )
            )
    external = Table(
        caption="External calibration: what a model trained and evaluated on a recorded proxy "
        "scores in each scenario, beside what published models report (FACTS.md)",
        columns=("figure", "scenario", "mean", "published", "band"),
        rows=tuple(ext_rows),
        note="Published models reach AUROC 0.76-0.87 against their own proxy labels (New "
        "Zealand, Los Angeles, a California county, Denmark); What Works for CSC (2020) found "
        "English models missing about 4 in 5 children at risk.",
    )
    figures = []
    worlds = _worlds_table(folder / "worlds.csv")
    for name in ESTIMAND_TEXT:
        png = folder / "plots" / (name.replace(".", "-") + ".png")
        drawn = worlds is not None and name in worlds.columns
        if not (drawn or png.is_file()) or name not in estimands:
            continue
        label = ESTIMAND_TEXT[name][0]
        span = estimands[name].get("range") or [None, None]
        figures.append(
            Figure(
                title=f"{label[0].upper()}{label[1:]} by scenario",
                alt=f"Forest plot of the {label}: one row per scenario "
                f"({', '.join(scenarios)}), each world a dot, the mean a square with its "
                f"Monte Carlo interval; the scenario means run from "
                f"{fmt_num(span[0], 3)} to {fmt_num(span[1], 3)}.",
                # drawn here from the worlds' table, so the axis reads in words; the sweep's own
                # PNG (code names) only when the table is absent
                src=png_data_uri(forest_figure(worlds, name, scenarios, label=label))
                if worlds is not None and drawn
                else png_file(png),
            )
        )
    intro = (
        f"Every other section reports one invented world with one seed. This section repeats "
        f"the whole pipeline (generate, featurize, train, evaluate, fidelity) in "
        f"{data.get('n_worlds', 0)} worlds of {int(data.get('n_households', 0)):,} households: "
        f"the design “{data.get('design', '')}” ({data.get('description', '')}), "
        f"{len(seeds)} seeds per scenario. Numbers that move a lot between scenarios depend on a "
        "setting nobody calibrated; a finding that fails in some world is not a finding about "
        "children's services, only about one world."
    )
    return Worlds(
        intro=intro, table=table, findings=findings, external=external, figures=tuple(figures)
    )


def worlds_summary_point(folder: Path | None) -> str | None:
    """One sentence for the summary: headline figures' ranges across scenarios, and whether
    the candidate's lead over practice holds in every world; None without a sweep."""
    if folder is None or not (folder / "summary.json").is_file():
        return None
    data = read_json(folder / "summary.json")
    est = data.get("estimands", {})
    parts = []
    for name, words in (
        ("auroc.candidate.warrants_escalation", "the candidate's AUROC"),
        ("lead_over_practice.candidate", "its lead over practice"),
        ("price_of_interpretability", "the price of interpretability"),
        ("proxy_auroc.logreg.cp_plan_12m", "a proxy-trained model's AUROC on its own proxy"),
    ):
        span = est.get(name, {}).get("range")
        if span and None not in span:
            parts.append(f"{words} from {fmt_num(span[0], 3)} to {fmt_num(span[1], 3)}")
    if not parts:
        return None
    beats = data.get("findings", {}).get("candidate_beats_practice", {})
    verdict = (
        "The candidate beats practice in every world."
        if beats.get("holds_in_every_world")
        else f"The candidate does not beat practice in every world ({beats.get('holds', 0)} of "
        f"{beats.get('worlds', 0)})."
    )
    return (
        f"Across the invented worlds of the “{data.get('design', '')}” sweep (section 12), the "
        f"scenario means of {', '.join(parts)}. {verdict}"
    )
