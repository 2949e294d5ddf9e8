"""secondlook.cli.common: the CLI catches SecondlookError once (exit 2, one line); anything else
is a bug (exit 3); params.yaml is found from another folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secondlook.cli import BUG_LINE, EXIT_BUG, EXIT_USER_ERROR, app
from secondlook.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _featurize(tmp_path: Path) -> list[str]:
    return [
        "featurize",
        "--raw",
        str(tmp_path / "raw"),
        "--out",
        str(tmp_path / "features"),
        "--params",
        str(REPO / "params.yaml"),
    ]


def test_a_user_error_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _featurize(tmp_path))
    assert result.exit_code == EXIT_USER_ERROR == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        f"error: {tmp_path / 'raw' / 'households.parquet'} not found (run "
        "`secondlook generate` first)"
    ]
    assert not (tmp_path / "features").exists()


def test_an_error_raised_deep_in_a_stage_is_caught_by_its_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unusable(*args: object, **kwargs: object) -> None:
        raise InputError("truth: no row for decision(s) ['D1']")

    monkeypatch.setattr("secondlook.features.stage.run_featurize", unusable)
    result = CliRunner().invoke(app, _featurize(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip() == "error: truth: no row for decision(s) ['D1']"


@pytest.mark.parametrize(
    "bug", [ValueError("x must be >= 1"), KeyError("column"), ZeroDivisionError()]
)
def test_any_other_exception_is_a_bug_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bug: Exception
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise bug

    monkeypatch.setattr("secondlook.features.stage.run_featurize", broken)
    result = CliRunner().invoke(app, _featurize(tmp_path))
    assert result.exit_code == EXIT_BUG == 3
    assert "Traceback (most recent call last)" in result.output
    assert f"in broken\n    raise bug\n{type(bug).__name__}" in result.output
    assert result.output.rstrip().endswith(f"bug: {BUG_LINE}")
    assert "error:" not in result.output


def test_a_bad_option_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--family",
            "forest",
            "--train",
            str(REPO / "params.yaml"),
            "--valid",
            str(REPO / "params.yaml"),
            "--out",
            str(tmp_path / "m"),
            "--params",
            str(REPO / "params.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: family 'forest' is not in train.families (rules, logreg, tree, ebm, gbm)"
    )


def test_typer_exits_pass_through() -> None:
    result = CliRunner().invoke(app, ["score", "--help"])
    assert result.exit_code == 0 and "Score every referral" in result.output


def test_params_are_found_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside any repository, without --params, the message says where it looked."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["featurize", "--raw", "nowhere"])
    assert result.exit_code == 2
    assert "no params.yaml in" in _flat(result.output) and "--params" in result.output
    # from a sub-folder of the repository, the repository's params.yaml is used
    monkeypatch.chdir(REPO / "src")
    result = CliRunner().invoke(app, ["featurize", "--raw", str(tmp_path / "nowhere")])
    assert "no params.yaml" not in _flat(result.output)


def test_score_outside_the_repository_uses_the_model_repositorys_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secondlook.cli import params_file

    fake = tmp_path / "clone"
    (fake / "models" / "logreg").mkdir(parents=True)
    (fake / ".git").mkdir()
    shutil.copy(REPO / "params.yaml", fake / "params.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = params_file(Path("params.yaml"), near=fake / "models" / "logreg")
    assert found == fake / "params.yaml"


def test_a_command_exit_code_passes_through_not_as_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """`secondlook study` exits with `dvc exp run`'s code: typer's Exit is no bug (typer 0.29
    vendors click, so click's Exit class does not catch it)."""
    import secondlook.studies

    monkeypatch.setattr(secondlook.studies, "run_study", lambda *args, **kwargs: 5)
    result = CliRunner().invoke(app, ["study", "no-bias", "--params", str(REPO / "params.yaml")])
    assert result.exit_code == 5, result.output
    assert BUG_LINE not in result.output and "Traceback" not in result.output


def test_help_shows_no_value_type_beside_a_flag() -> None:
    """`--track/--no-track`, `--help` take no value: no `<bool>` beside them; options that take
    one keep their type."""
    import typer.main

    group = typer.main.get_command(app)
    seen = 0
    pending: list[list[str]] = [[]]
    while pending:
        path = pending.pop()
        node = group
        for name in path:
            node = node.commands[name]  # type: ignore[attr-defined]
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
        seen += "<path>" in result.output
        pending += [[*path, name] for name in getattr(node, "commands", {})]
    assert seen >= 10  # the type column is still there for options with a value


@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [
        ("SIGTERM", 143, "terminated (SIGTERM): nothing was written"),
        ("SIGINT", 130, "interrupted (Ctrl-C, SIGINT): nothing was written"),
    ],
)
def test_terminate_cleanly_turns_a_signal_into_an_exit_after_the_clean_up(
    sig: str, code: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGTERM exits 143 and Ctrl-C (SIGINT) 130, each said, after every ``finally`` ran."""
    import os
    import signal

    import typer

    from secondlook.cli.common import EXIT_INTERRUPTED, EXIT_TERMINATED, terminate_cleanly

    number = getattr(signal, sig)
    before = signal.getsignal(number)
    cleaned = []

    def run() -> None:
        with terminate_cleanly():
            try:
                os.kill(os.getpid(), number)
                pytest.fail(f"{sig} was not raised as an exception")  # pragma: no cover
            finally:
                cleaned.append(True)

    with pytest.raises(typer.Exit) as info:
        run()
    assert (
        info.value.exit_code
        == code
        == {"SIGTERM": EXIT_TERMINATED, "SIGINT": EXIT_INTERRUPTED}[sig]
    )
    assert cleaned == [True]
    assert said in capsys.readouterr().err
    assert signal.getsignal(number) == before  # the handler is put back
