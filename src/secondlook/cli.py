"""The ``secondlook`` command line: one typer app, one subcommand per pipeline stage.

This is the thin edge of the package: it reads ``params.yaml``, loads and writes files at the
paths dvc.yaml passes in, and calls the pure functions of the stage modules.

Exit codes: 0 done; 2 an error the user can fix (any :class:`~secondlook.errors.SecondlookError`:
a bad param, table, model file, cohort or option), printed as one line ``error: ...``; 3 a bug
in secondlook (any other exception), printed with its traceback and a request to report it.
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import functools  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any, ParamSpec, TypeVar  # noqa: E402

import click  # noqa: E402
import typer  # noqa: E402
from rich.console import Console  # noqa: E402

from secondlook.errors import MissingInputError, OptionError, SecondlookError  # noqa: E402
from secondlook.fileio import write_json  # noqa: E402
from secondlook.params import load_params, load_section  # noqa: E402

app = typer.Typer(
    name="secondlook",
    help="Synthetic case histories, point-in-time features, interpretable models and "
    "plain-language explanations for human review. Decision support: it ranks, never decides.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"secondlook {version('secondlook')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Synthetic case histories, point-in-time features, interpretable models and plain-language
    explanations for human review. Decision support: it ranks, never decides."""


P = ParamSpec("P")
R = TypeVar("R")


#: exit code of an error the user can fix (a :class:`SecondlookError`)
EXIT_USER_ERROR = 2
#: exit code of a bug: any other exception
EXIT_BUG = 3
BUG_LINE = (
    "this is a bug in secondlook, not a problem with your input; please report it with the "
    "command you ran and the traceback above"
)


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Catch :class:`SecondlookError` once: one clear line and exit code 2.

    Any other exception is a bug: its traceback goes to stderr with :data:`BUG_LINE`, exit
    code 3. Typer's and click's own exits (``--help``, ``typer.Exit``) pass through.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SecondlookError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(code=EXIT_USER_ERROR) from None
        except (click.exceptions.Exit, click.exceptions.ClickException, click.Abort):
            raise
        except Exception:
            err.print(traceback.format_exc(), highlight=False, markup=False, end="")
            err.print(f"[bold red]bug:[/] {BUG_LINE}", highlight=False, markup=True)
            raise typer.Exit(code=EXIT_BUG) from None

    return wrapper


ParamsOpt = Annotated[Path, typer.Option("--params", help="The params file.")]


def params_file(path: Path, near: Path | None = None) -> Path:
    """The params file: as given, or -- for the default ``params.yaml`` outside the repository's
    top folder -- the repository's own, so that every command runs from any folder.

    ``near`` is another place whose repository may hold it (a model folder's, for scoring
    from outside the repository).

    Raises
    ------
    MissingInputError
        If there is no such file, saying where it was looked for.
    """
    if path.is_file():
        return path
    if path == Path("params.yaml"):
        from secondlook.tracking import repo_root

        starts = [Path.cwd()] + ([near] if near is not None else [])
        for start in starts:
            found = repo_root(start) / "params.yaml"
            if found.is_file():
                return found
        where = " or ".join(str(s) for s in starts)
        raise MissingInputError(
            f"no params.yaml in {where} or a repository above it; run from the secondlook "
            "repository or pass --params PATH"
        )
    raise MissingInputError(f"params file {path} not found")


def section(params_path: Path, name: str) -> Any:
    """Load and validate one section of the params file."""
    return load_section(name, load_params(params_file(params_path)))


@app.command()
@user_errors
def generate(
    out: Annotated[Path, typer.Option(help="Folder for the labelled world.")] = Path("data/raw"),
    cohort: Annotated[Path, typer.Option(help="Folder for the unlabelled cohort.")] = Path(
        "data/cohort"
    ),
    vignettes: Annotated[Path, typer.Option(help="Folder of seed-case YAML files.")] = Path(
        "data/vignettes"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Simulate the synthetic world and write its tables, truth, summary and scoring cohort."""
    from secondlook.synth.stage import run_generate

    run_generate(section(params, "synth"), out, cohort, vignettes, log=err.print)


@app.command()
@user_errors
def featurize(
    raw: Annotated[Path, typer.Option(help="Folder of the labelled world's tables.")] = Path(
        "data/raw"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the split feature tables.")] = Path(
        "features"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Build point-in-time features, split them by date and write the feature catalogue."""
    from secondlook.features.stage import run_featurize

    data = load_params(params_file(params))
    settings = load_section("features", data)
    synth = load_section("synth", data)
    run_featurize(settings, raw, out, synth=synth, log=err.print)


@app.command()
@user_errors
def train(
    family: Annotated[str, typer.Option(help="The model family (one of train.families).")],
    train_split: Annotated[Path, typer.Option("--train", help="Training feature table.")] = Path(
        "features/train.parquet"
    ),
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
        if not path.is_file():
            raise MissingInputError(f"{path} not found; run `dvc repro featurize` first")
    run_train(cfg, family, train_split, valid_split, out, log=err.print, practice_features=practice)


@app.command()
@user_errors
def evaluate(
    models: Annotated[Path, typer.Option(help="Folder with one model folder per family.")] = Path(
        "models"
    ),
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
    practice: Annotated[Path, typer.Option(help="Practice comparison (CSV).")] = Path(
        "reports/practice-comparison.csv"
    ),
    seed_cases: Annotated[Path, typer.Option(help="Seed-case scores and flags (CSV).")] = Path(
        "reports/seed-cases.csv"
    ),
    plots: Annotated[Path, typer.Option(help="Folder for ROC, PR, calibration CSVs.")] = Path(
        "reports/plots"
    ),
    catalogue: Annotated[
        Path | None, typer.Option(help="Feature catalogue to attach to the MLflow run.")
    ] = None,
    track: Annotated[bool, typer.Option(help="Log the run to MLflow.")] = True,
    patterns: Annotated[
        Path | None, typer.Option(help="Pattern metrics from `secondlook patterns` (headline).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Evaluate every family on the test split with bootstrap intervals; log to MLflow."""
    from secondlook.evaluate.stage import run_evaluate
    from secondlook.schema import seed_case_prefixes

    data = load_params(params_file(params))
    run_evaluate(
        load_section("evaluate", data),
        load_section("train", data),
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
        seed_prefixes=seed_case_prefixes(load_section("synth", data).vignettes),
        catalogue=catalogue,
        track=track,
        log=err.print,
        patterns_path=patterns,
    )


@app.command()
@user_errors
def patterns(
    models: Annotated[Path, typer.Option(help="Folder with one model folder per family.")] = Path(
        "models"
    ),
    train_split: Annotated[Path, typer.Option("--train", help="Training feature table.")] = Path(
        "features/train.parquet"
    ),
    out: Annotated[Path, typer.Option(help="Pattern metrics JSON.")] = Path(
        "reports/patterns.json"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Score many variants of the Sarah and John patterns and two negative controls."""
    import pandas as pd

    from secondlook.evaluate.patterns import run_patterns
    from secondlook.models import add_group_inputs, load_model
    from secondlook.synth.patterns import pattern_tables

    data = load_params(params_file(params))
    ev = load_section("evaluate", data)
    train_cfg = load_section("train", data)
    if not train_split.is_file():
        raise MissingInputError(f"{train_split} not found; run `dvc repro featurize` first")
    loaded = {f: load_model(models / f) for f in train_cfg.families}
    tables = pattern_tables(ev.pattern_variants, ev.pattern_seed, load_section("synth", data))
    train = add_group_inputs(pd.read_parquet(train_split))
    result = run_patterns(loaded, tables, train, n_boot=ev.n_boot, ci=ev.ci, seed=ev.seed)
    write_json(out, result)
    for family, row in result["headline"].items():
        err.print(f"patterns {family}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))


@app.command()
@user_errors
def policy(
    features: Annotated[Path, typer.Option(help="Folder of train/valid/test tables.")] = Path(
        "features"
    ),
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
    import pandas as pd

    from secondlook.evaluate.policy import policy_comparison, policy_table_markdown
    from secondlook.features import build_features
    from secondlook.features.stage import read_splits
    from secondlook.models import add_group_inputs
    from secondlook.schema import seed_case_prefixes
    from secondlook.synth.patterns import pattern_tables

    data = load_params(params_file(params))
    ev = load_section("evaluate", data)
    ex = load_section("explain", data)
    synth = load_section("synth", data)
    splits = {name: add_group_inputs(t) for name, t in read_splits(features).items()}
    truth_path = raw / "truth.parquet"
    if not truth_path.is_file():
        raise MissingInputError(f"{truth_path} not found; run `dvc repro generate` first")
    truth = pd.read_parquet(truth_path).set_index("decision_id")
    truth_test = truth.reindex(splits["test"]["decision_id"])
    tables = pattern_tables(ev.pattern_variants, ev.pattern_seed, synth)
    pattern_features = add_group_inputs(
        build_features(
            tables["households"], tables["people"], tables["events"], tables["decisions"]
        )
    )
    seed_ids = tuple(
        str(d)
        for s in splits.values()
        for d in s["decision_id"]
        if str(d).startswith(seed_case_prefixes(synth.vignettes))
    )
    table = policy_comparison(
        load_section("train", data),
        splits,
        truth_test,
        label=ev.label,
        patterns={"features": pattern_features, "marks": tables["marks"], "truth": tables["truth"]},
        seed_ids=seed_ids,
        families=tuple(families.split(",")) if families else None,
        top_k=ex.top_k,
        fidelity_k=ex.fidelity_k,
        log=err.print,
    )
    write_json(out, table.to_dict("records"))
    markdown.write_text(policy_table_markdown(table))


@app.command()
@user_errors
def fairness(
    models: Annotated[Path, typer.Option(help="Folder with one model folder per family.")] = Path(
        "models"
    ),
    features: Annotated[Path, typer.Option(help="Folder of train/valid/test tables.")] = Path(
        "features"
    ),
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

    data = load_params(params_file(params))
    cfg = load_section("fairness", data)
    train_cfg = load_section("train", data)
    synth = load_section("synth", data)
    feature_cfg = load_section("features", data)
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


@app.command()
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
) -> None:
    """Write the headline figures, rounded, for `dvc metrics show`."""
    from secondlook.evaluate.headline import count_numbers, run_headline

    content = run_headline(metrics, out, fairness=fairness, explanations=explanations)
    err.print(f"headline: {count_numbers(content)} figures -> {out}")


@app.command()
@user_errors
def explain(
    models: Annotated[Path, typer.Option(help="Folder with one model folder per family.")] = Path(
        "models"
    ),
    features: Annotated[
        Path, typer.Option(help="Folder with the train, valid and test feature tables.")
    ] = Path("features"),
    raw: Annotated[Path, typer.Option(help="Folder of the labelled world's tables.")] = Path(
        "data/raw"
    ),
    out: Annotated[Path, typer.Option(help="Folder for global explanations and metrics.")] = Path(
        "reports/explanations"
    ),
    packs: Annotated[Path, typer.Option(help="Folder for the case review packs.")] = Path(
        "reports/case-reviews"
    ),
    track: Annotated[bool, typer.Option(help="Log the run to MLflow.")] = True,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Explain every family: exact contributions, reasons, fidelity, stability, case reviews."""
    from secondlook.explain.stage import run_explain
    from secondlook.schema import seed_case_prefixes

    data = load_params(params_file(params))
    synth = load_section("synth", data)
    run_explain(
        load_section("explain", data),
        load_section("train", data),
        models,
        features,
        raw,
        out,
        packs,
        seed_prefixes=seed_case_prefixes(synth.vignettes),
        track=track,
        log=err.print,
    )


@app.command()
@user_errors
def study(
    name: Annotated[str, typer.Argument(help="Study name: experiments/studies/<name>.yaml.")],
    studies: Annotated[Path, typer.Option(help="Folder of study files.")] = Path(
        "experiments/studies"
    ),
    queue: Annotated[
        bool, typer.Option(help="Queue it (`dvc exp run --run-all` runs it).")
    ] = False,
    temp: Annotated[bool, typer.Option(help="Run it in a temporary copy of the repo.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the dvc command, run nothing.")] = False,
    stage: Annotated[
        list[str] | None,
        typer.Option(help="Reproduce only this stage and its dependencies (repeatable)."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Run a named study as a DVC experiment (`dvc exp run -n NAME -S ... [STAGE...]`)."""
    from secondlook.studies import run_study

    code = run_study(
        name,
        studies,
        load_params(params_file(params)),
        queue=queue,
        temp=temp,
        dry_run=dry_run,
        targets=tuple(stage or ()),
        log=err.print,
    )
    if code:
        raise typer.Exit(code=code)


@app.command()
@user_errors
def sweep(
    design: Annotated[Path, typer.Argument(help="A design file: experiments/designs/<name>.yaml.")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default reports/sweep/<design>).")
    ] = None,
    cache: Annotated[
        Path, typer.Option(help="Folder of finished worlds; a rerun resumes from it.")
    ] = Path(".sweep-cache"),
    vignettes: Annotated[
        Path | None, typer.Option(help="Seed-case folder (placed in every world).")
    ] = Path("data/vignettes"),
    engine: Annotated[str, typer.Option(help="dask (default) or pandas (this process).")] = "dask",
    scheduler: Annotated[
        str | None,
        typer.Option(help="tcp://host:port of a dask scheduler (default: LocalCluster)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="LocalCluster worker processes.")] = 2,
    memory_limit: Annotated[
        str | None, typer.Option(help="LocalCluster memory limit per worker, e.g. 3GB.")
    ] = None,
    seeds: Annotated[int | None, typer.Option(help="Override the design's seed count.")] = None,
    households: Annotated[
        int | None, typer.Option(help="Override the design's world size.")
    ] = None,
    mlflow: Annotated[bool, typer.Option(help="Log a parent run and a run per world.")] = True,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Run a simulation study over many worlds (scenarios x seeds) and say what holds in all."""
    from secondlook.sweep import run_sweep

    if engine not in ("dask", "pandas"):
        raise OptionError(f"--engine must be dask or pandas, got {engine!r}")
    run_sweep(
        design,
        load_params(params),
        out or Path("reports/sweep") / design.stem,
        cache=cache,
        vignettes=vignettes,
        engine=engine,  # type: ignore[arg-type]
        scheduler=scheduler,
        n_workers=workers,
        memory_limit=memory_limit,
        seeds=seeds,
        n_households=households,
        progress=progress,
        mlflow=mlflow,
        log=err.print,
    )


def _day(value: str | None, option: str) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise OptionError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


def _separator(value: str | None) -> str | None:
    if value is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(value, value)
    if len(value) != 1:
        raise OptionError(f"--sep must be one character (or `tab`), got {value!r}")
    return value


@app.command()
@user_errors
def score(
    cohort: Annotated[
        Path, typer.Argument(help="Folder with households, people, events (.parquet or .csv).")
    ],
    model: Annotated[
        str, typer.Option(help="A model folder (models/<family>) or models:/<name>@<alias>.")
    ],
    out: Annotated[Path, typer.Option(help="Output parquet file (a manifest goes beside it).")],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First referral date scored (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last referral date scored (YYYY-MM-DD).")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="pandas | dask (default: score.engine in params).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="dask scheduler address (tcp://host:8786); default a LocalCluster."),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest path (default <out>.manifest.json).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The cohort's extract date (YYYY-MM-DD, default today): later referrals are "
            "rejected, later history events refuse the cohort.",
        ),
    ] = None,
    sep: Annotated[
        str | None,
        typer.Option("--sep", help="CSV separator (default: found from each header line)."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Score every referral of an anonymised cohort: a score, a flag and reasons, or a rejection."""
    from secondlook.score import run_score

    near = None if model.startswith("models:/") else Path(model).resolve()
    values = load_params(params_file(params, near=near))
    settings = load_section("score", values)
    reference = load_section("explain", values).reference
    if engine not in (None, "pandas", "dask"):
        raise OptionError(f"--engine must be pandas or dask, got {engine!r}")
    if scheduler and (engine or settings.engine) != "dask":
        raise OptionError("--scheduler needs --engine dask")
    run_score(
        cohort,
        model,
        out,
        settings,
        start=_day(date_from, "--from"),
        end=_day(date_to, "--to"),
        engine=engine,  # type: ignore[arg-type]
        scheduler=scheduler,
        manifest=manifest,
        as_of=_day(as_of, "--as-of"),
        delimiter=_separator(sep),
        reference=reference,
        progress=err.is_terminal,
        log=err.print,
    )


@app.command()
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
    vignettes: Annotated[Path, typer.Option(help="Folder of seed-case YAML files.")] = Path(
        "data/vignettes"
    ),
    metrics: Annotated[Path, typer.Option(help="The evaluate stage's metrics.")] = Path(
        "reports/metrics.json"
    ),
    leaderboard: Annotated[Path, typer.Option(help="Leaderboard (CSV).")] = Path(
        "reports/leaderboard.csv"
    ),
    by_label: Annotated[Path, typer.Option(help="Every metric against every label.")] = Path(
        "reports/metrics-by-label.csv"
    ),
    practice: Annotated[Path, typer.Option(help="Practice comparison (CSV).")] = Path(
        "reports/practice-comparison.csv"
    ),
    seed_cases: Annotated[Path, typer.Option(help="Seed-case scores and flags (CSV).")] = Path(
        "reports/seed-cases.csv"
    ),
    plots: Annotated[Path, typer.Option(help="Folder of ROC, PR, calibration CSVs.")] = Path(
        "reports/plots"
    ),
    models: Annotated[Path, typer.Option(help="Folder with one model folder per family.")] = Path(
        "models"
    ),
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
    )
    run_report(inputs, out, lookup_runs=track, root=Path.cwd(), log=err.print)


@app.command()
@user_errors
def views(
    raw: Annotated[Path, typer.Option(help="Folder of the labelled world's tables.")] = Path(
        "data/raw"
    ),
    out: Annotated[Path, typer.Option(help="Folder for views.csv and views.md.")] = Path(
        "reports/views"
    ),
    family: Annotated[str, typer.Option(help="The model family trained per view.")] = "logreg",
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """The value of linked records: one model per view of the record, on the same world."""
    from secondlook.evaluate.views import compare_views, render_markdown
    from secondlook.features.stage import read_tables

    data = load_params(params)
    try:
        tables = read_tables(raw)
    except FileNotFoundError as exc:
        raise MissingInputError(str(exc)) from None
    table = compare_views(
        tables, load_section("features", data), load_section("train", data), family=family
    )
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "views.csv", index=False, float_format="%.6g")
    (out / "views.md").write_text(render_markdown(table))
    err.print(f"views: {', '.join(table['view'])} -> {out}/views.csv, views.md")


@app.command()
@user_errors
def observe(
    cohort: Annotated[Path, typer.Argument(help="A canonical cohort folder (parquet tables).")],
    out: Annotated[Path, typer.Option(help="Folder for decisions.parquet and labels.parquet.")],
    end: Annotated[str, typer.Option(help="The cohort's last day (extraction date, YYYY-MM-DD).")],
    decisions_from: Annotated[
        str | None, typer.Option("--from", help="Earlier referrals are history only.")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """A cohort with no ground truth: its referrals as decisions and the labels it can observe."""
    from secondlook.ingest.stage import run_observe

    follow_up = section(params, "synth").follow_up_months
    run_observe(
        cohort,
        out,
        end=_day(end, "--end"),
        follow_up_months=follow_up,
        decisions_from=_day(decisions_from, "--from"),
        log=err.print,
    )


import_app = typer.Typer(
    help="Import real formats as a canonical cohort folder.", no_args_is_help=True
)
export_app = typer.Typer(help="Export a canonical cohort in a real format.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


@import_app.command("cin-census")
@user_errors
def import_cin_census(
    files: Annotated[list[Path], typer.Argument(help="CIN census XML returns (any years, LAs).")],
    out: Annotated[Path, typer.Option(help="New cohort folder (tables, codes, manifest).")],
    households: Annotated[
        Path | None,
        typer.Option(help="CSV LAchildID,family_id[,LEA]: children of a family share a household."),
    ] = None,
) -> None:
    """Import CIN census returns (streamed) into a canonical cohort folder, all or nothing."""
    from secondlook.ingest.stage import run_import_census

    run_import_census(files, out, households=households, log=err.print)


@import_app.command("annex-a")
@user_errors
def import_annex_a(
    workbook: Annotated[Path, typer.Argument(help="Ofsted Annex A workbook (.xlsx).")],
    out: Annotated[Path, typer.Option(help="New cohort folder (tables, codes, manifest).")],
    mappings: Annotated[
        Path | None, typer.Option(help="YAML file extending the label mapping tables.")
    ] = None,
    la: Annotated[str, typer.Option(help="The authority's 3-digit LEA code.")] = "000",
) -> None:
    """Import Annex A lists 1, 3, 4, 5, 6, 7 into a canonical cohort folder, all or nothing."""
    from secondlook.ingest.stage import run_import_annex_a

    run_import_annex_a(workbook, out, mappings=mappings, lea=la, log=err.print)


@export_app.command("cin-census")
@user_errors
def export_cin_census(
    cohort: Annotated[Path, typer.Argument(help="A canonical cohort folder (parquet tables).")],
    year: Annotated[int, typer.Option(help="Collection year (the year to 31 March), 2017-2026.")],
    out: Annotated[Path, typer.Option(help="XML file (one per LA: <stem>_<LEA>.xml).")],
    households_out: Annotated[
        Path | None, typer.Option(help="Also write the LAchildID -> family id CSV.")
    ] = None,
) -> None:
    """Write a cohort as a CIN census return of one year (what the census can hold)."""
    from secondlook.ingest.stage import run_export_census

    run_export_census(cohort, year, out, households_out=households_out, log=err.print)


def main() -> None:  # pragma: no cover - console entry point
    """Run the app."""
    app()
