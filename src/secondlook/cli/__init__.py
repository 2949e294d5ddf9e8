"""The ``secondlook`` command line: one typer app, one subcommand per pipeline stage.

This is the thin edge of the package: it reads ``params.yaml``, loads and writes files at the
paths dvc.yaml passes in, and calls the pure functions of the stage modules.

=====================  ===============================================================
module                 commands
=====================  ===============================================================
:mod:`.common`         the error boundary, the params file, the options commands share
:mod:`.stages`         one per DVC stage: generate ... explain, views, report
:mod:`.studies`        study, sweep
:mod:`.cohorts`        score, observe, import cin-census / annex-a, export cin-census
=====================  ===============================================================

Exit codes: 0 done; 2 an error the user can fix (any :class:`~secondlook.errors.SecondlookError`:
a bad param, table, model file, cohort or option), printed as one line ``error: ...``; 3 a bug
in secondlook (any other exception), printed with its traceback and a request to report it.
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from typing import Annotated  # noqa: E402

import typer  # noqa: E402

from secondlook.cli import cohorts, stages, studies  # noqa: E402
from secondlook.cli.common import (  # noqa: E402
    BUG_LINE,
    EXIT_BUG,
    EXIT_USER_ERROR,
    Command,
    Group,
    params_file,
    section,
    user_errors,
)

__all__ = [
    "app",
    "main",
    "BUG_LINE",
    "EXIT_BUG",
    "EXIT_USER_ERROR",
    "params_file",
    "section",
    "user_errors",
]

app = typer.Typer(
    name="secondlook",
    help="Synthetic case histories, point-in-time features, interpretable models and "
    "plain-language explanations for human review. Decision support: it ranks, never decides.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"secondlook {version('secondlook')}")
        raise typer.Exit()


@app.callback(cls=Group)
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


# the order of `secondlook --help`
for _command in (
    stages.generate,
    stages.featurize,
    stages.train,
    stages.evaluate,
    stages.patterns,
    stages.policy,
    stages.fairness,
    stages.headline,
    stages.explain,
    studies.study,
    studies.sweep,
    studies.policy_check,
    cohorts.score,
    stages.report,
    stages.views,
    cohorts.observe,
):
    app.command(cls=Command)(_command)

import_app = typer.Typer(
    help="Import real formats as a canonical cohort folder.", no_args_is_help=True, cls=Group
)
export_app = typer.Typer(
    help="Export a canonical cohort in a real format.", no_args_is_help=True, cls=Group
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
import_app.command("cin-census", cls=Command)(cohorts.import_cin_census)
import_app.command("annex-a", cls=Command)(cohorts.import_annex_a)
export_app.command("cin-census", cls=Command)(cohorts.export_cin_census)


def main() -> None:  # pragma: no cover - console entry point
    """Run the app."""
    app()
