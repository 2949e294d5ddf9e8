"""Sections 5 to 8 of the report: ranking, calibration, the capacity cut, and practice.

Each ``*_section`` function reads the evaluate stage's outputs (the leaderboard, ``metrics.json``
and the curves under ``reports/plots``) into one section of the data model; none writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.params import EvaluateParams
from secondlook.report import plots, texts
from secondlook.report.evidence import need
from secondlook.report.fmt import (
    family_name,
    finite,
    fmt_interval,
    fmt_level,
    fmt_num,
    fmt_points,
    fmt_share,
    row_iv,
)
from secondlook.report.inputs import ReportInputs
from secondlook.report.model import Calibration, Capacity, Figure, Performance, Practice, Table

__all__ = [
    "calibration_section",
    "capacity_section",
    "performance_section",
    "practice_section",
    "read_curves",
]


def read_curves(folder: Path, kind: str, families: list[str]) -> dict[str, pd.DataFrame]:
    """The evaluate stage's ``<kind>/<family>.csv`` curves that exist, by family."""
    out = {}
    for f in families:
        p = folder / kind / f"{f}.csv"
        if p.is_file():
            out[f] = pd.read_csv(p)
    return out


def performance_section(
    inp: ReportInputs,
    metrics: Mapping[str, Any],
    board: pd.DataFrame,
    families: list[str],
    evaluate: EvaluateParams,
) -> Performance:
    level = fmt_level(evaluate.ci)
    n, prevalence = metrics.get("n_test", 0), float(metrics.get("prevalence", float("nan")))
    intro = (
        f"Test split: {n:,} referrals made after every training date, of which "
        f"{fmt_share(prevalence, 1)} warranted escalation. Each cell is an estimate with its {level} "
        "bootstrap interval in brackets: the range the figure would plausibly take on another "
        "sample of referrals like these."
    )
    return Performance(
        intro=intro,
        leaderboard=_leaderboard(board, evaluate),
        price=_price_text(metrics),
        figures=_performance_figures(inp, board, families, prevalence, level, evaluate.select_by),
    )


def _leaderboard(board: pd.DataFrame, evaluate: EvaluateParams) -> Table:
    rows = []
    for r in board.to_dict("records"):
        rows.append(
            (
                family_name(str(r["family"])),
                "yes" if r.get("interpretable") else "no",
                row_iv(r, "auroc"),
                row_iv(r, "auprc"),
                row_iv(r, "precision", share=True),
                row_iv(r, "recall", share=True),
                row_iv(r, "flag_rate", share=True, digits=3),
            )
        )
    return Table(
        caption=f"Leaderboard on the test split, best first by {evaluate.select_by.upper()}",
        columns=(
            "model family",
            "interpretable",
            "AUROC",
            "AUPRC",
            "precision at the cut",
            "recall at the cut",
            "share flagged",
        ),
        rows=tuple(rows),
        note="AUPRC: area under the precision-recall curve; chance level equals the share "
        "that warranted escalation. Precision: of the referrals flagged, the share that "
        "warranted escalation. Recall: of those that warranted escalation, the share flagged.",
    )


def _price_text(metrics: Mapping[str, Any]) -> str:
    price = metrics.get("price_of_interpretability")
    if price:
        d, lo, hi = price.get("gbm_minus_family"), price.get("lo"), price.get("hi")
        covers = finite(lo) and finite(hi) and float(lo) <= 0 <= float(hi)
        return (
            f"The price of interpretability: the black-box reference (gbm) minus the best "
            f"interpretable family ({family_name(str(price.get('family')))}) in "
            f"{str(price.get('metric', '')).upper()} is {fmt_interval(d, lo, hi, digits=3)}. "
            + (
                "The interval covers zero: this run shows no measurable cost of choosing the "
                "model whose reasons can be read."
                if covers
                else "The interval excludes zero: the "
                + ("black box" if finite(d) and float(d) > 0 else "interpretable model")
                + " ranks measurably better, and the panel must weigh that difference against "
                "being able to read the interpretable model's reasons."
            )
        )
    return (
        "The price of interpretability was not computed: it needs the gbm reference and at "
        "least one interpretable family."
    )


#: the ranking metrics (``evaluate.select_by``) in words, for the interval chart's axis
_RANKING_AXIS = {
    "auprc": "AUPRC (area under the precision-recall curve)",
    "auroc": "AUROC (area under the ROC curve)",
}


def _performance_figures(
    inp: ReportInputs,
    board: pd.DataFrame,
    families: list[str],
    prevalence: float,
    level: str,
    metric: str,
) -> tuple[Figure, ...]:
    """The interval chart of the ranking metric (``metric``, the leaderboard's order) and the
    ROC and precision-recall curves."""
    figs: list[Figure] = []
    if {metric, f"{metric}_lo", f"{metric}_hi"} <= set(board.columns):
        best, name = board.iloc[0], metric.upper()
        chance = prevalence if metric == "auprc" else 0.5  # AUROC's chance level is one half
        figs.append(
            Figure(
                title=f"{name} of each model family with its {level} interval",
                alt=(
                    f"Dot-and-whisker chart of {name} by model family, best first. "
                    + "; ".join(
                        f"{r['family']}: "
                        f"{fmt_interval(r[metric], r[f'{metric}_lo'], r[f'{metric}_hi'])}"
                        for r in board.to_dict("records")
                    )
                    + f". The highest is {best['family']}. The dashed line marks chance level, "
                    f"{fmt_num(chance)}."
                ),
                src=plots.png_data_uri(
                    plots.interval_figure(
                        board, metric, _RANKING_AXIS.get(metric, name), reference=chance
                    )
                ),
            )
        )
    roc = read_curves(inp.plots, "roc", families)
    pr = read_curves(inp.plots, "pr", families)
    if roc and pr:
        figs.append(
            Figure(
                title="ROC and precision-recall curves on the test split",
                alt=(
                    "Two line charts, one line per model family told apart by marker and line "
                    "style. Left: true positive rate against false positive rate (ROC); right: "
                    "precision against recall, with chance precision at "
                    f"{fmt_num(prevalence)} dashed. The areas under these curves are the AUROC "
                    "and AUPRC columns of the leaderboard table."
                ),
                src=plots.png_data_uri(plots.curves_figure(roc, pr, prevalence)),
            )
        )
    return tuple(figs)


def _mean_width(frame: pd.DataFrame) -> float:
    """Average width of the calibration interval over the test split (bins weighted by size)."""
    if not {"mean_low", "mean_high", "count"} <= set(frame.columns) or frame["count"].sum() <= 0:
        return float("nan")
    width = (frame["mean_high"] - frame["mean_low"]) * frame["count"]
    return float(width.sum() / frame["count"].sum())


def _chance(x: Any) -> str:
    """A chance as a percentage with one decimal; never "0.0%" for a chance that is not 0."""
    if finite(x) and 0 < float(x) < 0.0005:
        return "under 0.1%"
    return fmt_share(x, 1)


def _interval_table(frame: pd.DataFrame, candidate: str) -> Table:
    """The candidate's reliability bins, each with its chance's interval, in words."""
    rows = tuple(
        (
            f"{int(r['count']):,}",
            _chance(r["mean_predicted"]),
            f"{_chance(r['mean_low'])} to {_chance(r['mean_high'])}",
            fmt_share(r["observed_rate"], 1),
        )
        for r in frame.to_dict("records")
    )
    return Table(
        caption=f"The chance the candidate ({family_name(candidate)}) gives, with its interval, "
        "in ten equal groups of test referrals from lowest to highest score",
        columns=(
            "referrals",
            "chance given (average)",
            "interval (average)",
            "share that warranted escalation",
        ),
        rows=rows,
        note="The interval is the range of chances the calibration allows for a referral with "
        "that score; the last column is what happened. A chance is well calibrated when the "
        "share that warranted escalation is close to it.",
    )


def _interval_text(cal: Mapping[str, pd.DataFrame], candidate: str) -> str:
    widths = {f: _mean_width(frame) for f, frame in cal.items()}
    if not any(finite(w) for w in widths.values()):
        return (
            "The calibration used in this run gives no interval around each chance (only "
            "Venn-Abers calibration does): each chance is shown alone."
        )
    text = (
        "No chance is ever 0% or 100%, and each comes with an interval. The calibration "
        "(Venn-Abers) is fitted twice on the validation referrals — once as if this referral "
        "had warranted escalation and once as if it had not — and the two answers bound its "
        "chance: a narrow interval means many validation referrals had a similar score, a wide "
        "one that few did, so the chance is less certain. Every case review pack shows the "
        "interval beside the chance."
    )
    frame = cal.get(candidate)
    w = widths.get(candidate, float("nan"))
    if frame is not None and finite(w):
        top = frame.iloc[-1]
        text += (
            f" For the candidate ({family_name(candidate)}) the interval is on average "
            f"{100 * w:.1f} percentage points wide; for the tenth of referrals it scores "
            f"highest, whose average chance is {fmt_share(top['mean_predicted'])}, it runs "
            f"from {fmt_share(top['mean_low'])} to {fmt_share(top['mean_high'])}."
        )
        text += " " + _interval_caveat(frame)
    return text


def _interval_caveat(frame: pd.DataFrame) -> str:
    """What the Venn-Abers interval does not cover, with how often the test split fell outside
    it (groups of :func:`_interval_table`) and the gap in the top group, where the flags are."""
    outside = int(
        (
            (frame["observed_rate"] < frame["mean_low"])
            | (frame["observed_rate"] > frame["mean_high"])
        )
        .fillna(False)
        .sum()
    )
    top = frame.iloc[-1]
    gap = float(top["observed_rate"] - top["mean_predicted"])
    text = (
        "The interval is not a margin of error for everything: it shows how much the "
        "calibration step moves for a score like this one, not the chance variation of a "
        "validation period of limited size, nor a change between the validation and test "
        f"periods. On the test referrals, the share that warranted escalation fell outside the "
        f"average interval in {outside} of the {len(frame)} groups of the table below."
    )
    if finite(gap) and abs(gap) >= 0.01:
        side = "fewer" if gap < 0 else "more"
        text += (
            f" In the top group, where the flags are, {fmt_share(top['observed_rate'])} "
            f"warranted escalation against an average chance of "
            f"{fmt_share(top['mean_predicted'])}: {abs(100 * gap):.0f} percentage points "
            f"{side} than the chance said. Read a chance as approximate."
        )
    return text


def calibration_section(
    inp: ReportInputs, board: pd.DataFrame, families: list[str], candidate: str = ""
) -> Calibration:
    cal = read_curves(inp.plots, "calibration", families)
    widths = {f: _mean_width(frame) for f, frame in cal.items()}
    with_width = any(finite(w) for w in widths.values())
    rows = tuple(
        (family_name(str(r["family"])), row_iv(r, "brier", digits=3), row_iv(r, "ece", digits=3))
        + (
            (
                f"{100 * widths[str(r['family'])]:.1f} percentage points"
                if finite(widths.get(str(r["family"])))
                else "none",
            )
            if with_width
            else ()
        )
        for r in board.to_dict("records")
    )
    table = Table(
        caption="Calibration of each family's probability on the test split",
        columns=("model family", "Brier score (lower is better)", "expected calibration error")
        + (("interval around each chance (average width)",) if with_width else ()),
        rows=rows,
        note="Expected calibration error: the average gap between the predicted probability "
        "and the observed share, over ten equal-sized groups of referrals."
        + (
            " Interval width in percentage points: the average distance between the low and "
            "the high end of each referral's chance."
            if with_width
            else ""
        ),
    )
    interval_table = None
    if candidate in cal and finite(widths.get(candidate)):
        interval_table = _interval_table(cal[candidate], candidate)
    figure = None
    if cal:
        worst = max(
            board.to_dict("records"), key=lambda r: r.get("ece", 0) if finite(r.get("ece")) else 0
        )
        figure = Figure(
            title="Reliability diagram: predicted probability against observed share",
            alt=(
                "Line chart with one line per model family (distinct markers and line styles) "
                "plotting the mean predicted probability in each group of referrals against the "
                "share of them that warranted escalation; the dashed diagonal is perfect "
                "calibration. Lines close to the diagonal mean a score of 0.3 does mean about "
                f"three in ten. The largest average gap is {worst['family']}'s, "
                f"{fmt_num(worst.get('ece'), 3)}."
            ),
            src=plots.png_data_uri(plots.reliability_figure(cal)),
        )
    return Calibration(
        table=table,
        figure=figure,
        interval_text=_interval_text(cal, candidate) if cal else "",
        interval_table=interval_table,
    )


def capacity_section(
    metrics: Mapping[str, Any], board: pd.DataFrame, capacity: float, candidate: str
) -> Capacity:
    rows = tuple(
        (
            family_name(str(r["family"])),
            row_iv(r, "flag_rate", share=True, digits=3),
            row_iv(r, "precision", share=True),
            row_iv(r, "recall", share=True),
        )
        for r in board.to_dict("records")
    )
    table = Table(
        caption="What each family's cut does on the test split",
        columns=("model family", "share flagged", "precision", "recall"),
        rows=rows,
        note="The cut is set on the validation split so that about "
        f"{fmt_share(capacity)} of referrals are flagged; on later referrals the share drifts.",
    )
    fam = metrics.get("families", {}).get(candidate, {})
    p = float(metrics.get("prevalence", float("nan")))
    trade: list[str] = []
    if fam and finite(p):
        f, q, r = fam.get("flag_rate"), fam.get("precision"), fam.get("recall")
        if finite(f) and finite(q) and finite(r):
            flagged, right = 1000 * f, 1000 * f * q
            missed = 1000 * p * (1 - r)
            trade.append(
                f"Out of every 1,000 referrals like those in the test split, the candidate "
                f"({family_name(candidate)}) flags about {flagged:.0f} for a second look; about "
                f"{right:.0f} of those warranted escalation and about {flagged - right:.0f} did "
                f"not — those families are drawn into a closer look without the risk that would "
                f"justify it. About {missed:.0f} referrals that warranted escalation are not "
                "flagged and rely on practice alone."
            )
    trade += list(texts.CAPACITY_TRADE)
    return Capacity(capacity=fmt_share(capacity), table=table, trade=tuple(trade))


def practice_section(inp: ReportInputs, root: Path | None) -> Practice:
    missing = need([inp.practice], "dvc repro evaluate", root)
    if missing:
        return Practice(missing=missing)
    try:
        p = pd.read_csv(inp.practice)
    except pd.errors.EmptyDataError:
        p = pd.DataFrame()
    if p.empty:
        return Practice(
            intro="The test split carries no practice outcome, so no comparison was made."
        )
    k, total = int(p["escalations"].iloc[0]), int(p["warranted"].iloc[0])
    intro = (
        f"On the test split practice opened {k:,} child protection enquiries (section 47); "
        f"{total:,} referrals warranted one. Each model is given the same workload — its own top "
        f"{k:,} referrals by score — and we count how many of the {total:,} each would have "
        "reached."
    )
    rows = []
    for r in p.to_dict("records"):
        who = str(r["who"])
        rows.append(
            (
                "practice (what was decided)" if who == "practice" else family_name(who),
                f"{int(r['caught']):,} of {total:,}",
                fmt_interval(r["recall"], r["recall_lo"], r["recall_hi"], share=True),
                "—"
                if who == "practice"
                else fmt_points(r["vs_practice"], r["vs_practice_lo"], r["vs_practice_hi"]),
            )
        )
    return Practice(
        intro=intro,
        table=Table(
            caption="Referrals that warranted escalation reached at practice's workload",
            columns=("who", "reached", "recall", "difference from practice"),
            rows=tuple(rows),
            note="Difference from practice is in percentage points with a paired bootstrap "
            "interval; an interval that covers 0 means no measurable difference.",
        ),
    )
