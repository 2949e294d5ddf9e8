"""What every command shares: the error boundary, the params file and the common options.

The options a few commands share are defined once here (``ModelsOpt``, ``RawOpt`` ...), each
with its help text; a command gives its own default, as typer requires.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import signal
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from secondlook.errors import MissingInputError, OptionError, SecondlookError
from secondlook.params import load_params, load_section

__all__ = [
    "BUG_LINE",
    "EXIT_BUG",
    "EXIT_TERMINATED",
    "terminate_cleanly",
    "EXIT_USER_ERROR",
    "err",
    "user_errors",
    "params_file",
    "section",
    "sections",
    "require_file",
    "day",
    "separator",
    "Command",
    "Group",
]

P = ParamSpec("P")
R = TypeVar("R")

#: where every command writes its progress lines and errors
err = Console(stderr=True, soft_wrap=True)

#: exit code of an error the user can fix (a :class:`SecondlookError`)
EXIT_USER_ERROR = 2
#: exit code of a bug: any other exception
EXIT_BUG = 3
BUG_LINE = (
    "this is a bug in secondlook, not a problem with your input; please report it with the "
    "command you ran and the traceback above"
)


def _untyped_flags(params: list[Any]) -> list[Any]:
    """Flags take no value, yet typer 0.29 prints ``<bool>`` beside ``--flag/--no-flag`` (and
    ``--help``) in the help's type column, as if one were expected. An empty metavar, which only
    that column reads for a flag, leaves it blank."""
    for param in params:
        if param.param_type_name == "option" and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Command(typer.core.TyperCommand):
    """A command whose help shows no type beside its flags (see :func:`_untyped_flags`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _untyped_flags(super().get_params(ctx))


class Group(typer.core.TyperGroup):
    """A group whose help shows no type beside its flags (see :func:`_untyped_flags`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _untyped_flags(super().get_params(ctx))


#: the exit code after a SIGTERM (128 + 15, as a shell reports a process it terminated)
EXIT_TERMINATED = 128 + signal.SIGTERM
#: the exit code after Ctrl-C, SIGINT (128 + 2, as a shell reports it)
EXIT_INTERRUPTED = 128 + signal.SIGINT


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM (see
    :func:`terminate_cleanly`); a BaseException, so no ``except Exception`` swallows it."""


@contextlib.contextmanager
def terminate_cleanly() -> Any:
    """Turn SIGTERM into an exception while the block runs, so its clean-up still happens.

    Python's default action for SIGTERM (``kill``, a job scheduler's time limit) ends the
    process at once: no ``finally`` runs, so a scoring run left its temporary output, its spill
    folder and a worker process that went on running. Inside the block SIGTERM raises
    :class:`Terminated` in the main thread instead; every ``finally`` on the way out runs
    (worker processes and clusters are stopped, temporary files removed), and the command
    exits with :data:`EXIT_TERMINATED`. Outside the main thread it does nothing. Ctrl-C
    (SIGINT, which Python raises as KeyboardInterrupt) is cleaned up the same way and said the
    same way, with :data:`EXIT_INTERRUPTED` (it used to end the command with a traceback, or
    with nothing said).

    Raises
    ------
    typer.Exit
        With :data:`EXIT_TERMINATED` after a SIGTERM, :data:`EXIT_INTERRUPTED` after a SIGINT.
    """

    def _raise(_signum: int, _frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    except Terminated:
        err.print("[bold red]terminated[/] (SIGTERM): nothing was written", markup=True)
        raise typer.Exit(code=EXIT_TERMINATED) from None
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/] (Ctrl-C, SIGINT): nothing was written", markup=True)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


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
        except (typer.Exit, typer.Abort, typer.TyperException):
            # typer 0.29 vendors click: its exits and usage errors are typer's classes, not
            # click's (a `raise typer.Exit(code)` was reported as a bug, exit code 3)
            raise
        except Exception:
            err.print(traceback.format_exc(), highlight=False, markup=False, end="")
            err.print(f"[bold red]bug:[/] {BUG_LINE}", highlight=False, markup=True)
            raise typer.Exit(code=EXIT_BUG) from None

    return wrapper


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


def sections(params_path: Path, *names: str) -> tuple[Any, ...]:
    """Load the params file once and validate the named sections, in that order."""
    data = load_params(params_file(params_path))
    return tuple(load_section(name, data) for name in names)


def require_file(path: Path, stage: str) -> None:
    """Refuse a missing input file, naming the DVC stage that writes it.

    Raises
    ------
    MissingInputError
        If ``path`` is not a file.
    """
    if not path.is_file():
        raise MissingInputError(f"{path} not found; run `dvc repro {stage}` first")


def day(value: str | None, option: str) -> dt.date | None:
    """An ISO date option (``YYYY-MM-DD``), or None when not given.

    Raises
    ------
    OptionError
        If the value is not such a date; the message names ``option``.
    """
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise OptionError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


def separator(value: str | None) -> str | None:
    """The ``--sep`` option: one character, ``tab`` or ``\\t`` for a tab, or None.

    Raises
    ------
    OptionError
        If it is longer than one character.
    """
    if value is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(value, value)
    if len(value) != 1:
        raise OptionError(f"--sep must be one character (or `tab`), got {value!r}")
    return value


# options several commands share (one help text each)
ParamsOpt = Annotated[Path, typer.Option("--params", help="The params file.")]
ModelsOpt = Annotated[Path, typer.Option(help="Folder with one model folder per family.")]
RawOpt = Annotated[Path, typer.Option(help="Folder of the labelled world's tables.")]
SplitsOpt = Annotated[Path, typer.Option(help="Folder of train/valid/test tables.")]
TrainOpt = Annotated[Path, typer.Option("--train", help="Training feature table.")]
VignettesOpt = Annotated[Path, typer.Option(help="Folder of seed-case YAML files.")]
TrackOpt = Annotated[bool, typer.Option(help="Log the run to MLflow.")]
PracticeOpt = Annotated[Path, typer.Option(help="Practice comparison (CSV).")]
SeedCasesOpt = Annotated[Path, typer.Option(help="Seed-case scores and flags (CSV).")]
CohortArg = Annotated[Path, typer.Argument(help="A canonical cohort folder (parquet tables).")]
NewCohortOpt = Annotated[Path, typer.Option(help="New cohort folder (tables, codes, manifest).")]
