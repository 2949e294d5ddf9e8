"""The report's cross-world section: how much the findings depend on the invented world.

Reads what ``secondlook sweep`` wrote for one design (``reports/sweep/<design>/``:
``summary.json`` and the forest plots) and turns it into the :class:`~secondlook.report.model.Worlds`
section and one sentence for the summary. A finding that does not hold in every world is said
to, with the worlds where it fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.report.evidence import need, read_json
from secondlook.report.fmt import fmt_num, png_file
from secondlook.report.labels import ESTIMAND_TEXT, plain, sentence_case
from secondlook.report.model import Figure, Table, Worlds
from secondlook.report.plots import png_data_uri
from secondlook.sweep.aggregate import interval_half_width
from secondlook.sweep.plots import forest_figure

__all__ = ["ESTIMAND_TEXT", "PUBLISHED_SOURCES", "worlds_section", "worlds_summary_point"]

#: the publications behind the external calibration (the reference table of the project's
#: design notes: "How well real risk models predict")
PUBLISHED_SOURCES = (
    "Published models reach AUROC 0.76 to 0.87 against their own proxy labels: New Zealand's "
    "predictive risk model, 0.76 for substantiated maltreatment by age 5 (Vaithianathan et al. "
    "2012, quoted in Gillingham 2016, British Journal of Social Work 46(4)); Los Angeles County, "
    "0.83 for foster-care placement within 24 months (SSWR 2023, paper 51334); a California "
    "county, 0.84 for placement within 2 years (SSWR 2022, paper 47783); Denmark, above 0.87 "
    "for removal (Rosholm et al. 2024, PLOS ONE e0305974). What Works for Children's Social "
    "Care found English models missing on average about 4 in 5 children at risk (Clayton et "
    "al. 2020, Machine learning in children's services: does it work?)."
)

_PRODUCED_BY = "dvc repro sweep-observability (or secondlook sweep <design>)"


def _num(x: Any, digits: int) -> str:
    """``fmt_num``, with thousands separated when there are no decimals (12,195)."""
    text = fmt_num(x, digits)
    return f"{float(x):,.0f}" if digits == 0 and text != "not computed" else text


def _mean_cell(stats: Mapping[str, Any], digits: int) -> str:
    mean, se, n = stats.get("mean"), stats.get("mcse"), stats.get("n")
    if mean is None:
        return "not computed"
    text = _num(mean, digits)
    half = math.nan if se is None or n is None else interval_half_width(float(se), int(n))
    if math.isfinite(half):
        text += f" ± {_num(half, digits)}"
    return text


def _world_name(world: str) -> str:
    """``low/20240917`` -> ``low, seed 20240917``."""
    scenario, _, seed = str(world).partition("/")
    return f"{plain(scenario)}, seed {seed}" if seed else plain(scenario)


def _first_sentence(text: str) -> str:
    """A design's description up to its first full stop: what the design varies, without the
    checks and figures its authors noted after it (the design file keeps those)."""
    text = " ".join(str(text).split())
    head, stop, _ = text.partition(". ")
    return head + "." if stop else text


def _finding_sentence(name: str, f: Mapping[str, Any], text: str, total: int = 0) -> str:
    worlds, holds = int(f.get("worlds", 0)), int(f.get("holds", 0))
    text = sentence_case(text)
    if not worlds:
        return f"{text}: not measurable in any world."
    unmeasured = (
        f" It could be measured in only {worlds} of the {total} worlds: in the others the "
        "figure could not be computed (for a group figure: a group too small to compare)."
        if total > worlds
        else ""
    )
    if f.get("holds_in_every_world"):
        where = " where it was measured" if unmeasured else ""
        return f"{text}: holds in every world{where} ({worlds} of {worlds})." + unmeasured
    where = "; ".join(_world_name(w) for w in f.get("fails_in", [])[:6])
    return (
        f"{text}: does NOT hold in every world — {holds} of {worlds} (fails in {where})."
        + unmeasured
    )


def _worlds_table(path: Path) -> pd.DataFrame | None:
    """The sweep's ``worlds.csv`` (one row per world), or None when absent or empty."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None
    return frame if "scenario" in frame.columns else None


def _forest_png(worlds: pd.DataFrame | None, name: str, scenarios: list[str], png: Path) -> str:
    """The forest plot of one estimand, redrawn from the worlds' table so its axis reads in
    words; the sweep's own PNG (code names) only when the table is absent."""
    if worlds is None or name not in worlds.columns:
        return png_file(png)
    label = sentence_case(ESTIMAND_TEXT[name][0])
    return png_data_uri(forest_figure(worlds, name, scenarios, label=label))


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
        rows.append((label, *cells, f"{_num(span[0], digits)} to {_num(span[1], digits)}"))
    seeds = data.get("seeds", [])
    table = Table(
        caption=f"Each figure by scenario: mean over {len(seeds)} worlds ± its 95% interval, "
        "and the range of the scenario means",
        columns=("figure", *(plain(s) for s in scenarios), "range across scenarios"),
        rows=tuple(rows),
        note="The ± is the uncertainty of the mean from the finite number of seeds, not the "
        "spread of the worlds (the plots show every world as a dot): the Monte Carlo standard "
        "error (the spread of the worlds divided by the square root of their number) times "
        f"Student's t for {len(seeds)} worlds"
        + (f" ({_num(interval_half_width(1.0, len(seeds)), 2)})" if len(seeds) > 1 else "")
        + ". With so few worlds it is wide: a scenario mean is known to about this much. "
        "“not computed”: no world of that scenario could give the figure (for a group figure, "
        "a group with too few referrals to compare; group figures need larger worlds than this "
        "section's).",
    )
    findings = tuple(
        _finding_sentence(name, f, str(f.get("text") or name), int(data.get("n_worlds", 0)))
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
                    plain(name),
                    plain(s),
                    fmt_num(v.get("mean"), 3),
                    ref,
                    "reference line" if within is None else ("inside" if within else "OUTSIDE"),
                )
            )
    external = Table(
        caption="External calibration: what a model trained and evaluated on a recorded proxy "
        "scores in each scenario, beside what published models report",
        columns=("figure", "scenario", "mean", "published", "band"),
        rows=tuple(ext_rows),
        note=PUBLISHED_SOURCES,
    )
    figures = []
    worlds = _worlds_table(folder / "worlds.csv")
    for name, (label, digits) in ESTIMAND_TEXT.items():
        png = folder / "plots" / (name.replace(".", "-") + ".png")
        drawn = worlds is not None and name in worlds.columns
        if not (drawn or png.is_file()) or name not in estimands:
            continue
        span = estimands[name].get("range") or [None, None]
        figures.append(
            Figure(
                title=f"{sentence_case(label)}, by scenario",
                alt=f"Forest plot: {label}, one row per scenario "
                f"({', '.join(plain(s) for s in scenarios)}), each world a dot, the mean a "
                f"square with its Monte Carlo interval; the scenario means run from "
                f"{_num(span[0], digits)} to {_num(span[1], digits)}.",
                src=_forest_png(worlds, name, scenarios, png),
            )
        )
    intro = (
        f"Every other section reports one invented world with one seed. This section repeats "
        f"the whole pipeline (generate, featurize, train, evaluate, fidelity) in "
        f"{data.get('n_worlds', 0)} worlds of {int(data.get('n_households', 0)):,} households: "
        f"the design “{data.get('design', '')}” "
        f"({_first_sentence(data.get('description', '')).rstrip('.')}), "
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
            parts.append(f"{words} ranges from {fmt_num(span[0], 3)} to {fmt_num(span[1], 3)}")
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
        f"scenario means vary: {'; '.join(parts)}. {verdict}"
    )
