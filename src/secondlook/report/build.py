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
    fmt_level,
    fmt_num,
    fmt_share,
    row_iv,
)
from secondlook.report.groups import label_name
from secondlook.report.headlines import fairness_headline, practice_sentence, seed_case_sentences
from secondlook.report.inputs import ReportInputs
from secondlook.report.labels import price_sentence
from secondlook.report.model import (
    Explanations,
    Fairness,
    Labels,
    Limitations,
    Report,
    Summary,
    Table,
    World,
)
from secondlook.report.performance import (
    calibration_section,
    capacity_section,
    performance_section,
    practice_section,
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
        brows.append((name, what, _failure_setting(key, practice.get(key))))
    biases = Table(
        caption="Biases and practice failure modes planted on purpose (each can be switched off)",
        columns=("planted", "what it does", "setting in this run"),
        rows=tuple(brows),
    )
    return World(
        counts=counts,
        calibration=calibration,
        biases=biases,
        all_within=bool(s.get("all_within", False)),
    )


def _failure_setting(key: str, value: Any) -> str:
    """A practice failure mode's setting in words (the setting's name is in section 14)."""
    if not finite(value):
        return "not set"
    v = float(value)
    words = {
        "start_again": f"the history is not read for {v:.0%} of referrals",
        "weight_unassessed_adult": f"weight given to an unassessed adult: {v:g}",
        "bruising_missed": f"the sign is let pass {v:.0%} of the time",
        "la_sd": f"thresholds vary by {v:g} log-odds (standard deviation) between councils",
    }
    return words.get(key, f"{v:g}")


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
                label_name(label),
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
        headline=label_name(str(metrics.get("label", ""))),
        train_label=label_name(str(metrics.get("train_label", ""))),
        table=table,
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
    vignettes = tuple(str(v) for v in (params.get("synth") or {}).get("vignettes") or ())
    explanations = explanations_section(inputs, root, candidate, order, vignettes)
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
        performance=performance_section(inputs, metrics, board, order, evaluate),
        calibration=calibration_section(inputs, board, order, candidate),
        capacity_section=capacity_section(metrics, board, capacity, candidate),
        practice=practice_section(inputs, root),
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
