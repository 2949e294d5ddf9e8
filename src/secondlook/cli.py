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


def main() -> None:  # pragma: no cover - console entry point
    """Run the app."""
    app()
