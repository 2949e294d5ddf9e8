"""The pipeline's commands, one per DVC stage (dvc.yaml passes every path).

Each command parses, loads the params sections it reads, and calls the stage's entry
function; nothing here computes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secondlook.cli.common import (
    ModelsOpt,
    ParamsOpt,
    PracticeOpt,
    RawOpt,
    SeedCasesOpt,
    SplitsOpt,
    TrackOpt,
    TrainOpt,
    VignettesOpt,
    err,
    params_file,
    require_file,
    section,
    sections,
    user_errors,
)
from secondlook.fileio import write_json
from secondlook.params import NO_GROUND_TRUTH, load_params, load_section

__all__ = [
    "generate",
    "featurize",
    "train",
    "evaluate",
    "patterns",
    "policy",
    "fairness",
    "headline",
    "explain",
    "views",
    "report",
]


@user_errors
def generate(
    out: Annotated[Path, typer.Option(help="Folder for the labelled world.")] = Path("data/raw"),
    cohort: Annotated[Path, typer.Option(help="Folder for the unlabelled cohort.")] = Path(
        "data/cohort"
    ),
    vignettes: VignettesOpt = Path("data/vignettes"),
    records: Annotated[
        Path | None,
        typer.Option(help="An imported cohort folder: the records when data.source is cohort."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Simulate the synthetic world (or read an imported cohort) and write the pipeline's records.

    With ``data.source: synthetic`` the world is simulated: tables, truth, summary and a scoring
    cohort. With ``data.source: cohort`` the ``--records`` folder (``secondlook import ...``) is
    read instead: its referrals are the decisions, and only the labels its source can observe
    are written (no ground truth).
    """
    from secondlook.ingest.records import generate_from_records, is_real_records

    data = load_params(params_file(params))
    if is_real_records(data):
        generate_from_records(data, records, out, cohort, log=err.print)
        return
    from secondlook.synth.stage import run_generate

    run_generate(load_section("synth", data), out, cohort, vignettes, log=err.print)


@user_errors
def featurize(
    raw: RawOpt = Path("data/raw"),
    out: Annotated[Path, typer.Option(help="Folder for the split feature tables.")] = Path(
        "features"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Build point-in-time features, split them by date and write the feature catalogue."""
    from secondlook.features.stage import run_featurize
    from secondlook.ingest.records import check_view_for_records, is_real_records

    data = load_params(params_file(params))
    settings = load_section("features", data)
    # an imported cohort's dates are its own, not the simulated world's
    cohort = is_real_records(data)
    if cohort:  # a feature the records cannot give would be all zeros: refuse the view instead
        check_view_for_records(raw, settings.view)
    synth = None if cohort else load_section("synth", data)
    run_featurize(settings, raw, out, synth=synth, log=err.print)


@user_errors
def train(
    family: Annotated[str, typer.Option(help="The model family (one of train.families).")],
    train_split: TrainOpt = Path("features/train.parquet"),
    valid_split: Annotated[
        Path, typer.Option("--valid", help="Validation feature table (calibration, cut).")
    ] = Path("features/valid.parquet"),
    out: Annotated[
        Path | None, typer.Option(help="Model folder (default models/<family>).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Fit one model family, calibrate it on the validation split, set its capacity cut, save it."""
    from secondlook.models.stage import run_train

    cfg = section(params, "train")
    out = out if out is not None else Path("models") / family
    practice = section(params, "features").practice_features
    for path in (train_split, valid_split):
        require_file(path, "featurize")
    run_train(cfg, family, train_split, valid_split, out, log=err.print, practice_features=practice)


@user_errors
def evaluate(
    models: ModelsOpt = Path("models"),
    test: Annotated[Path, typer.Option(help="Test feature table.")] = Path("features/test.parquet"),
    train_split: Annotated[
        Path | None, typer.Option("--train", help="Training table (seed cases are looked up).")
    ] = None,
    valid_split: Annotated[
        Path | None, typer.Option("--valid", help="Validation table (seed cases are looked up).")
    ] = None,
    metrics: Annotated[Path, typer.Option(help="Metrics JSON.")] = Path("reports/metrics.json"),
    leaderboard_md: Annotated[Path, typer.Option(help="Leaderboard (markdown).")] = Path(
        "reports/leaderboard.md"
    ),
    leaderboard_csv: Annotated[Path, typer.Option(help="Leaderboard (CSV).")] = Path(
        "reports/leaderboard.csv"
    ),
    by_label: Annotated[Path, typer.Option(help="Every metric against every label (CSV).")] = Path(
        "reports/metrics-by-label.csv"
    ),
    practice: PracticeOpt = Path("reports/practice-comparison.csv"),
    seed_cases: SeedCasesOpt = Path("reports/seed-cases.csv"),
    plots: Annotated[Path, typer.Option(help="Folder for ROC, PR, calibration CSVs.")] = Path(
        "reports/plots"
    ),
    catalogue: Annotated[
        Path | None, typer.Option(help="Feature catalogue to attach to the MLflow run.")
    ] = None,
    track: TrackOpt = True,
    patterns: Annotated[
        Path | None, typer.Option(help="Pattern metrics from `secondlook patterns` (headline).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Evaluate every family on the test split with bootstrap intervals; log to MLflow."""
    from secondlook.evaluate.stage import run_evaluate
    from secondlook.schema import seed_case_prefixes

    settings, train_cfg, synth = sections(params, "evaluate", "train", "synth")
    run_evaluate(
        settings,
        train_cfg,
        models,
        test,
        metrics_path=metrics,
        leaderboard_md=leaderboard_md,
        leaderboard_csv=leaderboard_csv,
        by_label_csv=by_label,
        practice_csv=practice,
        seed_cases_csv=seed_cases,
        plots_dir=plots,
        seed_splits={
            name: path
            for name, path in (("train", train_split), ("valid", valid_split))
            if path is not None
        },
        seed_prefixes=seed_case_prefixes(synth.vignettes),
        catalogue=catalogue,
        track=track,
        log=err.print,
        patterns_path=patterns,
    )


@user_errors
def patterns(
    models: ModelsOpt = Path("models"),
    train_split: TrainOpt = Path("features/train.parquet"),
    out: Annotated[Path, typer.Option(help="Pattern metrics JSON.")] = Path(
        "reports/patterns.json"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Score many variants of the Sarah and John patterns and two negative controls."""
    import pandas as pd

    from secondlook.evaluate.patterns import run_patterns
    from secondlook.ingest.records import is_real_records, write_not_available
    from secondlook.models import add_group_inputs, load_model
    from secondlook.synth.patterns import pattern_tables

    if is_real_records(load_params(params_file(params))):
        # the patterns' truth is the simulated world's risk model
        write_not_available("patterns", out)
        err.print(f"patterns: {NO_GROUND_TRUTH}")
        return
    ev, train_cfg, synth = sections(params, "evaluate", "train", "synth")
    require_file(train_split, "featurize")
    loaded = {f: load_model(models / f) for f in train_cfg.families}
    tables = pattern_tables(ev.pattern_variants, ev.pattern_seed, synth)
    train = add_group_inputs(pd.read_parquet(train_split))
    result = run_patterns(loaded, tables, train, n_boot=ev.n_boot, ci=ev.ci, seed=ev.seed)
    write_json(out, result)
    for family, row in result["headline"].items():
        err.print(f"patterns {family}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))


@user_errors
def policy(
    features: SplitsOpt = Path("features"),
    raw: Annotated[Path, typer.Option(help="Folder of the labelled world (truth).")] = Path(
        "data/raw"
    ),
    out: Annotated[Path, typer.Option(help="Table as JSON (one row per setting and family).")] = (
        Path("reports/policy.json")
    ),
    markdown: Annotated[Path, typer.Option(help="The table as markdown.")] = Path(
        "reports/policy.md"
    ),
    families: Annotated[
        str | None, typer.Option(help="Comma-separated families (default: train.families).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """What the policy on reasons costs and buys: every family under the four settings."""
    from secondlook.evaluate.policy import policy_table_markdown, run_policy
    from secondlook.ingest.records import is_real_records, write_not_available

    if is_real_records(load_params(params_file(params))):
        # every column of the comparison is measured against the truth
        write_not_available("policy", out, markdown)
        err.print(f"policy: {NO_GROUND_TRUTH}")
        return
    ev, ex, synth, train_cfg = sections(params, "evaluate", "explain", "synth", "train")
    table = run_policy(
        ev,
        ex,
        synth,
        train_cfg,
        features,
        raw,
        families=tuple(families.split(",")) if families else None,
        log=err.print,
    )
    write_json(out, table.to_dict("records"))
    markdown.write_text(policy_table_markdown(table, synth.vignettes))


@user_errors
def fairness(
    models: ModelsOpt = Path("models"),
    features: SplitsOpt = Path("features"),
    metrics: Annotated[Path, typer.Option(help="fairness.json (DVC metrics).")] = Path(
        "reports/fairness.json"
    ),
    out: Annotated[Path, typer.Option(help="Folder for tables, summary and plots.")] = Path(
        "reports/fairness"
    ),
    track: Annotated[bool, typer.Option(help="Log the audit to MLflow.")] = True,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Audit every family by group (truth and proxies) and run the label-bias study."""

    import pandas as pd

    from secondlook.evaluate.fairness_stage import fairness_metrics, run_fairness
    from secondlook.features.stage import assemble, read_splits
    from secondlook.models import load_model
    from secondlook.synth import build_world

    cfg, train_cfg, synth, feature_cfg = sections(params, "fairness", "train", "synth", "features")
    splits = read_splits(features)
    fitted = {family: load_model(models / family) for family in train_cfg.families}

    def planted_biases_off() -> dict[str, pd.DataFrame]:
        _, tables = build_world(synth.without_planted_biases())
        return assemble(tables, feature_cfg)

    content = run_fairness(
        cfg, train_cfg, fitted, splits, planted_biases_off, metrics, out, log=err.print
    )
    if track:
        from secondlook import tracking

        run_id = tracking.log_stage_run(
            "fairness",
            params={"fairness": cfg},
            metrics=fairness_metrics(content),
            artifacts=[metrics, out],
        )
        err.print(f"fairness: mlflow run {run_id}")


@user_errors
def headline(
    metrics: Annotated[Path, typer.Option(help="The evaluate stage's metrics.json.")] = Path(
        "reports/metrics.json"
    ),
    fairness: Annotated[Path, typer.Option(help="The fairness stage's fairness.json.")] = Path(
        "reports/fairness.json"
    ),
    explanations: Annotated[
        Path, typer.Option(help="The explain stage's folder (fidelity, stability, summary).")
    ] = Path("reports/explanations"),
    out: Annotated[Path, typer.Option(help="headline.json (the DVC metrics file).")] = Path(
        "reports/headline.json"
    ),
    details: Annotated[
        Path | None, typer.Option(help="Every family's headline figures (a plain output).")
    ] = None,
) -> None:
    """Write the headline figures, rounded, for `dvc metrics show` (and every family's)."""
    from secondlook.evaluate.headline import count_numbers, run_headline, terminal_figures

    content = run_headline(
        metrics, out, fairness=fairness, explanations=explanations, details=details
    )
    err.print(
        f"headline: {count_numbers(terminal_figures(content))} figures -> {out}"
        + (f"; {count_numbers(content)} -> {details}" if details else "")
    )


@user_errors
def explain(
    models: ModelsOpt = Path("models"),
    features: Annotated[
        Path, typer.Option(help="Folder with the train, valid and test feature tables.")
    ] = Path("features"),
    raw: RawOpt = Path("data/raw"),
    out: Annotated[Path, typer.Option(help="Folder for global explanations and metrics.")] = Path(
        "reports/explanations"
    ),
    packs: Annotated[Path, typer.Option(help="Folder for the case review packs.")] = Path(
        "reports/case-reviews"
    ),
    track: TrackOpt = True,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Explain every family: exact contributions, reasons, fidelity, stability, case reviews."""
    from secondlook.explain.stage import run_explain
    from secondlook.schema import seed_case_prefixes

    settings, train_cfg, synth = sections(params, "explain", "train", "synth")
    run_explain(
        settings,
        train_cfg,
        models,
        features,
        raw,
        out,
        packs,
        seed_prefixes=seed_case_prefixes(synth.vignettes),
        track=track,
        log=err.print,
    )


@user_errors
def views(
    raw: RawOpt = Path("data/raw"),
    out: Annotated[Path, typer.Option(help="Folder for views.csv and views.md.")] = Path(
        "reports/views"
    ),
    family: Annotated[str, typer.Option(help="The model family trained per view.")] = "logreg",
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """The value of linked records: one model per view of the record, on the same world."""
    from secondlook.evaluate.views import compare_views, render_markdown
    from secondlook.features.stage import read_tables
    from secondlook.ingest.records import is_real_records, write_not_available

    data = load_params(params)
    if is_real_records(data):  # the views are compared against the truth on one simulated world
        write_not_available("views", out)
        err.print(f"views: {NO_GROUND_TRUTH}")
        return
    tables = read_tables(raw)
    ex = load_section("explain", data)
    table = compare_views(
        tables,
        load_section("features", data),
        load_section("train", data),
        family=family,
        fidelity_k=ex.fidelity_k,
        reference=ex.reference,
    )
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "views.csv", index=False, float_format="%.6g")
    (out / "views.md").write_text(render_markdown(table))
    err.print(f"views: {', '.join(table['view'])} -> {out}/views.csv, views.md")


@user_errors
def report(
    out: Annotated[Path, typer.Option(help="The HTML report to write.")] = Path(
        "reports/ethics-panel.html"
    ),
    summary: Annotated[Path, typer.Option(help="The world's calibration summary.")] = Path(
        "data/raw/summary.json"
    ),
    decisions: Annotated[Path, typer.Option(help="The decisions table (seed-case dates).")] = Path(
        "data/raw/decisions.parquet"
    ),
    vignettes: VignettesOpt = Path("data/vignettes"),
    metrics: Annotated[Path, typer.Option(help="The evaluate stage's metrics.")] = Path(
        "reports/metrics.json"
    ),
    leaderboard: Annotated[Path, typer.Option(help="Leaderboard (CSV).")] = Path(
        "reports/leaderboard.csv"
    ),
    by_label: Annotated[Path, typer.Option(help="Every metric against every label.")] = Path(
        "reports/metrics-by-label.csv"
    ),
    practice: PracticeOpt = Path("reports/practice-comparison.csv"),
    seed_cases: SeedCasesOpt = Path("reports/seed-cases.csv"),
    plots: Annotated[Path, typer.Option(help="Folder of ROC, PR, calibration CSVs.")] = Path(
        "reports/plots"
    ),
    models: ModelsOpt = Path("models"),
    fairness: Annotated[Path, typer.Option(help="fairness.json (optional).")] = Path(
        "reports/fairness.json"
    ),
    explanations: Annotated[Path, typer.Option(help="Explain stage folder (optional).")] = Path(
        "reports/explanations"
    ),
    case_reviews: Annotated[Path, typer.Option(help="Case review packs (optional).")] = Path(
        "reports/case-reviews"
    ),
    dvc_lock: Annotated[Path, typer.Option(help="dvc.lock (output hashes).")] = Path("dvc.lock"),
    runs: Annotated[
        Path | None, typer.Option(help="JSON of MLflow run ids (default: look them up).")
    ] = None,
    track: Annotated[
        bool, typer.Option(help="Look the MLflow run ids up by the test data hash.")
    ] = True,
    patterns: Annotated[Path | None, typer.Option(help="Seed-pattern metrics (optional).")] = Path(
        "reports/patterns.json"
    ),
    policy: Annotated[
        Path | None, typer.Option(help="What the policy costs and buys (optional).")
    ] = Path("reports/policy.json"),
    sweep: Annotated[
        Path | None, typer.Option(help="A sweep's output folder (optional; cross-world section).")
    ] = Path("reports/sweep/observability"),
    views: Annotated[
        Path | None, typer.Option(help="The views comparison (optional; end of section 5).")
    ] = Path("reports/views/views.csv"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Write the ethics-panel report: one self-contained HTML file from the stage outputs."""
    from secondlook.report import ReportInputs, run_report

    params = params_file(params)
    load_params(params)  # a clear error for a bad params file before anything is read
    inputs = ReportInputs(
        params=params,
        summary=summary,
        decisions=decisions,
        vignettes=vignettes,
        metrics=metrics,
        leaderboard=leaderboard,
        by_label=by_label,
        practice=practice,
        seed_cases=seed_cases,
        plots=plots,
        models=models,
        fairness=fairness,
        explanations=explanations,
        case_reviews=case_reviews,
        dvc_lock=dvc_lock,
        runs=runs,
        patterns=patterns,
        policy=policy,
        sweep=sweep,
        views=views,
    )
    run_report(inputs, out, lookup_runs=track, root=Path.cwd(), log=err.print)
