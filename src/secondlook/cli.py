"""The ``secondlook`` command line: one typer app, one subcommand per pipeline stage.

This is the thin edge of the package: it reads ``params.yaml``, loads and writes files at the
paths dvc.yaml passes in, and calls the pure functions of the stage modules. Errors a user can
cause (a bad param, a bad table) are printed as one clear message with a non-zero exit.
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import functools  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any, ParamSpec, TypeVar  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402

from secondlook.params import ParamsError, load_params, load_section  # noqa: E402
from secondlook.schema import TableError  # noqa: E402
from secondlook.synth.vignettes import VignetteError  # noqa: E402

app = typer.Typer(
    name="secondlook",
    help="Synthetic case histories, point-in-time features, interpretable models and "
    "plain-language explanations for human review. Decision support: it ranks, never decides.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can cause into one clear message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (ParamsError, TableError, VignetteError, UserError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(code=2) from None

    return wrapper


ParamsOpt = Annotated[Path, typer.Option("--params", help="The params file.")]


def section(params_path: Path, name: str) -> Any:
    """Load and validate one section of the params file."""
    return load_section(name, load_params(params_path))


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

    data = load_params(params)
    settings = load_section("features", data)
    synth = load_section("synth", data)
    try:
        run_featurize(settings, raw, out, synth=synth, log=err.print)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None


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
    out: Annotated[Path, typer.Option(help="Model folder, e.g. models/<family>.")] = Path(
        "models/logreg"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Fit one model family, calibrate it on the validation split, set its capacity cut, save it."""
    from secondlook.models.stage import run_train

    cfg = section(params, "train")
    for path in (train_split, valid_split):
        if not path.is_file():
            raise UserError(f"{path} not found; run `dvc repro featurize` first")
    try:
        run_train(cfg, family, train_split, valid_split, out, log=err.print)
    except ValueError as exc:
        raise UserError(str(exc)) from None


@app.command()
@user_errors
def evaluate(
    models: Annotated[Path, typer.Option(help="Folder with one model folder per family.")] = Path(
        "models"
    ),
    test: Annotated[Path, typer.Option(help="Test feature table.")] = Path("features/test.parquet"),
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
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Evaluate every family on the test split with bootstrap intervals; log to MLflow."""
    from secondlook.evaluate.stage import run_evaluate
    from secondlook.models import UntrustedModelError

    data = load_params(params)
    try:
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
            catalogue=catalogue,
            track=track,
            log=err.print,
        )
    except (FileNotFoundError, UntrustedModelError, ValueError) as exc:
        raise UserError(str(exc)) from None


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
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Run a named study as a DVC experiment (`dvc exp run -n NAME -S ...`)."""
    from secondlook.studies import run_study

    code = run_study(
        name, studies, load_params(params), queue=queue, temp=temp, dry_run=dry_run, log=err.print
    )
    if code:
        raise typer.Exit(code=code)


def main() -> None:  # pragma: no cover - console entry point
    """Run the app."""
    app()
