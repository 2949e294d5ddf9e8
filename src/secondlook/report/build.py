"""Read what the pipeline stages wrote into the report's data model.

:func:`build_report` takes the paths dvc.yaml passes (:class:`ReportInputs`) and returns a
:class:`~secondlook.report.model.Report`; it never writes anything. Every input beyond the
evaluate stage's is optional: a section whose files are absent is returned with its
``missing`` list filled in and is rendered as "not available in this run". Nothing here reads a
clock: the same inputs give the same model, and so the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from secondlook.errors import MissingInputError
from secondlook.params import EvaluateParams, load_section
from secondlook.report import plots, texts
from secondlook.report.evidence import (
    explanations_section,
    fairness_section,
    need,
    read_json,
    reproducibility_section,
    seed_cases_section,
)
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
from secondlook.report.headlines import fairness_headline, practice_sentence, seed_case_sentences
from secondlook.report.inputs import ReportInputs
from secondlook.report.labels import plain, price_sentence
from secondlook.report.model import (
    Calibration,
    Capacity,
    Explanations,
    Fairness,
    Figure,
    Labels,
    Limitations,
    Performance,
    Practice,
    Report,
    Summary,
    Table,
    World,
)
from secondlook.report.records import outcome_words, records_notice
from secondlook.report.views import views_table

__all__ = ["ReportInputs", "build_report"]


def _world(inp: ReportInputs, params: Mapping[str, Any], root: Path | None) -> World:
    missing = need([inp.summary], "dvc repro generate", root)
    if missing:
        return World(missing=missing)
    s = read_json(inp.summary)
    c = s.get("counts", {})
    counts = (
        f"{c.get('households', 0):,} households, {c.get('people', 0):,} people, "
        f"{c.get('events', 0):,} recorded events and {c.get('decisions', 0):,} referral "
        "decisions — all invented by the simulator; no real person is in them."
    )
    rows = []
    for r in s.get("calibration", []):
        ref, gen = r.get("reference"), r.get("generated")
        lo, hi = (r.get("tolerance") or [None, None])[:2]
        is_share = finite(ref) and float(ref) <= 1 and finite(hi) and float(hi) <= 1

        def f(x: Any, share: bool = is_share) -> str:
            return fmt_share(x, 1) if share else fmt_num(x, 0)

        rows.append(
            (
                str(r.get("figure", r.get("key", ""))),
                f(ref),
                f"{f(lo)} to {f(hi)}",
                f(gen),
                "within" if r.get("within") else "OUTSIDE tolerance",
                str(r.get("source", "")),
            )
        )
    calibration = Table(
        caption="The synthetic world beside published figures for England",
        columns=("figure", "published", "tolerance", "this world", "status", "source"),
        rows=tuple(rows),
        note="Status is written out in words; a figure outside its tolerance is marked "
        "OUTSIDE in capitals.",
    )
    synth = params.get("synth", {})
    bias = synth.get("bias", {})
    practice = synth.get("practice", {})
    brows = [
        (
            "surveillance bias",
            texts.BIAS_TEXT["surveillance"],
            f"+{bias.get('surveillance', 'n/a')} referral log-odds in the most deprived decile",
        ),
        (
            "referral disproportionality",
            texts.BIAS_TEXT["disproportionality"],
            ", ".join(f"{k} {v:+}" for k, v in bias.get("disproportionality", {}).items()),
        ),
    ]
    for key, (name, what) in texts.PRACTICE_FAILURES.items():
        brows.append((name, what, str(practice.get(key, "n/a"))))
    biases = Table(
        caption="Biases and practice failure modes planted on purpose (each can be switched off)",
        columns=("planted", "what it does", "setting in this run"),
        rows=tuple(brows),
        note="Each setting is a parameter in params.yaml: the biases under synth, bias; the "
        "failure modes under synth, practice (section 14 lists every parameter by name).",
    )
    return World(
        counts=counts,
        calibration=calibration,
        biases=biases,
        all_within=bool(s.get("all_within", False)),
    )


def _labels(
    inp: ReportInputs,
    metrics: Mapping[str, Any],
    candidate: str,
    root: Path | None,
    evaluate: EvaluateParams,
) -> Labels:
    missing = need([inp.summary, inp.metrics], "dvc repro generate evaluate", root)
    if missing:
        return Labels(missing=missing)
    prev = read_json(inp.summary).get("prevalence", {})
    by = metrics.get("by_label", {})
    rows = []
    for label, meaning in texts.LABELS.items():
        m = by.get(label, {}).get(candidate, {})
        rows.append(
            (
                plain(label),
                meaning,
                fmt_share(prev.get(label), 1),
                row_iv(m, "auroc") if m else "not computed",
                row_iv(m, "recall", share=True) if m else "not computed",
            )
        )
    table = Table(
        caption=f"Each label, its share of all referrals, and how the candidate model "
        f"({family_name(candidate)}) ranks against it",
        columns=("label", "what it means", "share of referrals", "AUROC", "recall at the cut"),
        rows=tuple(rows),
        note="AUROC: the chance a referral with the outcome is scored above one without "
        f"(0.5 is chance). Intervals are {fmt_level(evaluate.ci)} bootstrap intervals on the "
        "test split.",
    )
    return Labels(
        headline=str(metrics.get("label", "")),
        train_label=str(metrics.get("train_label", "")),
        table=table,
    )


def _read_curves(folder: Path, kind: str, families: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for f in families:
        p = folder / kind / f"{f}.csv"
        if p.is_file():
            out[f] = pd.read_csv(p)
    return out


def _performance(
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
    leaderboard = Table(
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
    price = metrics.get("price_of_interpretability")
    if price:
        d, lo, hi = price.get("gbm_minus_family"), price.get("lo"), price.get("hi")
        covers = finite(lo) and finite(hi) and float(lo) <= 0 <= float(hi)
        price_text = (
            f"The price of interpretability: the black-box reference (gbm) minus the best "
            f"interpretable family ({family_name(str(price.get('family')))}) in "
            f"{str(price.get('metric', '')).upper()} is {fmt_interval(d, lo, hi, digits=3)}. "
            + (
                "The interval covers zero: this run shows no measurable cost of choosing the "
                "model whose reasons can be read."
                if covers
                else "The interval excludes zero: the black box ranks measurably differently, "
                "and the panel must weigh that difference against being able to read the "
                "interpretable model's reasons."
            )
        )
    else:
        price_text = (
            "The price of interpretability was not computed: it needs the gbm reference and at "
            "least one interpretable family."
        )
    figs: list[Figure] = []
    if {"auprc", "auprc_lo", "auprc_hi"} <= set(board.columns):
        best = board.iloc[0]
        figs.append(
            Figure(
                title=f"AUPRC of each model family with its {level} interval",
                alt=(
                    "Dot-and-whisker chart of AUPRC by model family, best first. "
                    + "; ".join(
                        f"{r['family']}: {fmt_interval(r['auprc'], r['auprc_lo'], r['auprc_hi'])}"
                        for r in board.to_dict("records")
                    )
                    + f". The highest is {best['family']}. The dashed line marks chance level, "
                    f"{fmt_num(prevalence)}."
                ),
                src=plots.png_data_uri(
                    plots.interval_figure(
                        board,
                        "auprc",
                        "AUPRC (area under the precision-recall curve)",
                        reference=prevalence,
                    )
                ),
            )
        )
    roc = _read_curves(inp.plots, "roc", families)
    pr = _read_curves(inp.plots, "pr", families)
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
    return Performance(intro=intro, leaderboard=leaderboard, price=price_text, figures=tuple(figs))


def _calibration(inp: ReportInputs, board: pd.DataFrame, families: list[str]) -> Calibration:
    rows = tuple(
        (family_name(str(r["family"])), row_iv(r, "brier", digits=3), row_iv(r, "ece", digits=3))
        for r in board.to_dict("records")
    )
    table = Table(
        caption="Calibration of each family's probability on the test split",
        columns=("model family", "Brier score (lower is better)", "expected calibration error"),
        rows=rows,
        note="Expected calibration error: the average gap between the predicted probability "
        "and the observed share, over ten equal-sized groups of referrals.",
    )
    cal = _read_curves(inp.plots, "calibration", families)
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
    return Calibration(table=table, figure=figure)


def _capacity(
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


def _practice(inp: ReportInputs, root: Path | None) -> Practice:
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


def _limitations(world: World, metrics: Mapping[str, Any], board: pd.DataFrame) -> Limitations:
    items = list(texts.LIMITATIONS)
    if world.available and not world.all_within:
        items.append(
            (
                "This world misses some published figures",
                "At least one calibration figure lies outside its tolerance (marked OUTSIDE in "
                "the synthetic-world table); findings that depend on it carry less weight.",
            )
        )
    if "auroc_lo" in board.columns and len(board):
        widest = float((board["auroc_hi"] - board["auroc_lo"]).max())
        if widest > 0.1:
            items.append(
                (
                    "Wide intervals",
                    f"Some AUROC intervals span {widest:.2f}: the test split is too small to "
                    "tell the families apart with confidence.",
                )
            )
    return Limitations(items=tuple(items), questions=texts.QUESTIONS)


def _summary(
    world: World,
    metrics: Mapping[str, Any],
    board: pd.DataFrame,
    practice: pd.DataFrame,
    candidate: str,
    fairness: Fairness,
    explanations: Explanations,
    capacity: float,
    fairness_json: Mapping[str, Any] | None = None,
    seeds: list[str] | None = None,
    across_worlds: str | None = None,
    *,
    level: str,
) -> Summary:
    pts = [texts.SUMMARY_WHAT]
    seeds = list(seeds or [])
    if world.available and not metrics.get("ground_truth"):  # not on real records
        pts.append(
            "The world is invented, calibrated against published figures for England "
            + (
                "(every figure within its tolerance), "
                if world.all_within
                else "(some figures outside their tolerance, marked in section 3), "
            )
            + "and biased on purpose in the ways the literature reports, so that the models' "
            "errors and the labels' distortions can be measured against a known truth."
        )
    fam = metrics.get("families", {}).get(candidate)
    if fam:
        those, flags = outcome_words(str(metrics.get("label") or "warrants_escalation"))
        pts.append(
            f"The candidate model, {family_name(candidate)}, was chosen among the interpretable "
            f"families. On {metrics.get('n_test', 0):,} later referrals it ranks those that "
            f"{those} above those that did not with AUROC "
            f"{row_iv(fam, 'auroc')} (0.5 is chance, 1 is perfect). Flagging about "
            f"{fmt_share(capacity)} of referrals, it reaches {row_iv(fam, 'recall', share=True)} "
            f"of those that {those}, and {row_iv(fam, 'precision', share=True)} of "
            f"its flags {flags}."
        )
    practice_text = practice_sentence(practice, candidate, level)
    if practice_text:
        pts.append(practice_text)
    price = metrics.get("price_of_interpretability")
    if price:
        pts.append(price_sentence(price))
    fair_text = fairness_headline(fairness_json, candidate) if fairness.available else None
    if fair_text:
        pts.append(fair_text)
    pts += seeds
    pts.append(
        "These are findings in one invented world, generated from one seed: another world "
        "built to the same published figures could give other numbers, and none of them is a "
        "measurement of real families."
    )
    if across_worlds:
        pts.append(across_worlds)
    pts.append(
        "Who is flagged and who is missed, by group, is in section 9."
        if fairness.available
        else "The by-group fairness audit is not available in this run (section 9 says which "
        "file is missing); no conclusion about groups can be drawn from this report."
    )
    if not explanations.available:
        pts.append(
            "Some explanation outputs are not available in this run (section 10 lists them)."
        )
    pts += list(texts.SUMMARY_NOT)
    return Summary(points=tuple(pts))


def build_report(
    inputs: ReportInputs,
    *,
    commit: str = "",
    runs: Mapping[str, Any] | None = None,
    root: Path | None = None,
    log: Callable[[str], Any] | None = None,
) -> Report:
    """Read every stage output into the report's data model.

    Parameters
    ----------
    inputs
        The paths to read.
    commit
        The git commit the pipeline ran at (the CLI passes ``git rev-parse HEAD``).
    runs
        MLflow run ids, as :func:`secondlook.tracking.log_pipeline_run` returns them
        (``parent_run_id``, ``runs``, ``versions``, optional ``source``); used only when
        ``inputs.runs`` is not a file.
    root
        Paths under it are shown relative to it in "not available" notes.
    log
        Where to report missing inputs (one line each).

    Returns
    -------
    Report

    Raises
    ------
    FileNotFoundError
        If params.yaml or the evaluate stage's metrics or leaderboard are missing: without them
        there is no report to write.
    """
    for p, what in (
        (inputs.params, "params.yaml"),
        (inputs.metrics, "the evaluate stage's metrics (run `dvc repro evaluate`)"),
        (inputs.leaderboard, "the evaluate stage's leaderboard (run `dvc repro evaluate`)"),
    ):
        if not p.is_file():
            raise MissingInputError(f"{p} not found: {what}")
    params = yaml.safe_load(inputs.params.read_text(encoding="utf-8")) or {}
    metrics = read_json(inputs.metrics)
    board = pd.read_csv(inputs.leaderboard)
    families = [str(f) for f in board["family"]]
    order = [f for f in plots.FAMILY_LABELS if f in families] + [
        f for f in families if f not in plots.FAMILY_LABELS
    ]
    candidate = str(metrics.get("best_interpretable") or "")
    capacity = float(params.get("train", {}).get("capacity", float("nan")))
    evaluate = load_section("evaluate", params)  # the interval level and the ranking metric

    practice_frame = pd.DataFrame()
    if inputs.practice.is_file():
        try:
            practice_frame = pd.read_csv(inputs.practice)
        except pd.errors.EmptyDataError:
            practice_frame = pd.DataFrame()

    from secondlook.report.worlds import worlds_section, worlds_summary_point

    world = _world(inputs, params, root)
    fairness = fairness_section(inputs, root, candidate, load_section("fairness", params).ci)
    explanations = explanations_section(inputs, root, candidate, order)
    report = Report(
        title="secondlook: a report for the ethics panel",
        candidate=candidate,
        capacity=capacity,
        summary=_summary(
            world,
            metrics,
            board,
            practice_frame,
            candidate,
            fairness,
            explanations,
            capacity,
            fairness_json=read_json(inputs.fairness) if inputs.fairness.is_file() else None,
            seeds=seed_case_sentences(
                inputs.seed_cases,
                read_json(inputs.summary) if inputs.summary.is_file() else {},
                inputs.vignettes,
                inputs.explanations / "reasons" / f"{candidate}.csv",
                candidate,
                str(metrics.get("label") or "warrants_escalation"),
            ),
            across_worlds=worlds_summary_point(inputs.sweep),
            level=fmt_level(evaluate.ci),
        ),
        world=world,
        labels=_labels(inputs, metrics, candidate, root, evaluate),
        performance=_performance(inputs, metrics, board, order, evaluate),
        calibration=_calibration(inputs, board, order),
        capacity_section=_capacity(metrics, board, capacity, candidate),
        practice=_practice(inputs, root),
        fairness=fairness,
        explanations=explanations,
        seed_cases=seed_cases_section(inputs, params, order, candidate, root),
        limitations=_limitations(world, metrics, board),
        reproducibility=reproducibility_section(inputs, params, order, commit, runs, root),
        worlds=worlds_section(inputs.sweep, root),
        views=views_table(inputs.views),
        records=records_notice(
            read_json(inputs.summary) if inputs.summary.is_file() else None, metrics
        ),
    )
    if log is not None:
        for m in report.missing:
            log(f"report: {m.path} not available in this run ({m.produced_by})")
    return report
