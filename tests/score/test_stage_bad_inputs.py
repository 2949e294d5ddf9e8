"""Every bad input a user can hit: a non-zero exit, one clear message, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secondlook.cli import app

from .conftest import score_cli, write_cohort

Tables = dict[str, pd.DataFrame]


def _run(cohort: Path, model: Path | str, out: Path) -> tuple[int, str]:
    return score_cli(cohort, model, out)


def _refused(cohort: Path, model: Path | str, tmp_path: Path, *expect: str) -> str:
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    code, text = _run(cohort, model, out_dir / "scores.parquet")
    assert code == 2, text
    assert text.count("error:") == 1 and "Traceback" not in text, text
    flat = " ".join(text.split())  # the console wraps long lines
    for word in expect:
        assert word in flat, text
    assert list(out_dir.iterdir()) == []  # no output, no manifest, no temp file
    return text


def _edit(tables: Tables, fn: Callable[[Tables], None]) -> Tables:
    t = {k: v.copy() for k, v in tables.items()}
    fn(t)
    return t


def test_missing_table(cohort_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    (cohort_dir / "people.parquet").unlink()
    _refused(cohort_dir, model_dir, tmp_path, "table `people` is missing")


def test_missing_column(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    t = _edit(cohort_tables, lambda t: t.__setitem__("events", t["events"].drop(columns="source")))
    _refused(write_cohort(t, tmp_path / "c"), model_dir, tmp_path, "missing column", "`source`")


def test_wrong_type(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    def decile_as_text(t: Tables) -> None:
        t["households"]["deprivation_decile"] = t["households"]["deprivation_decile"].astype(str)

    t = _edit(cohort_tables, decile_as_text)
    _refused(
        write_cohort(t, tmp_path / "c"), model_dir, tmp_path, "deprivation_decile", "wrong type"
    )


def test_wrong_type_in_csv(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    def decile_word(t: Tables) -> None:
        hh = t["households"].astype({"deprivation_decile": object})
        hh.loc[3, "deprivation_decile"] = "high"
        t["households"] = hh

    folder = write_cohort(_edit(cohort_tables, decile_word), tmp_path / "c", fmt="csv")
    _refused(folder, model_dir, tmp_path, "deprivation_decile", "an integer")


def test_unparseable_date(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    folder = write_cohort(cohort_tables, tmp_path / "c", fmt="csv")
    events = (folder / "events.csv").read_text().splitlines()
    events[5] = events[5].replace(events[5].split(",")[3], "31/02/2020")
    (folder / "events.csv").write_text("\n".join(events) + "\n")
    _refused(folder, model_dir, tmp_path, "`date`", "a date", "31/02/2020")


def test_duplicate_ids(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    def dup(t: Tables) -> None:
        t["events"].loc[10, "event_id"] = t["events"].loc[2000, "event_id"]

    _refused(
        write_cohort(_edit(cohort_tables, dup), tmp_path / "c"),
        model_dir,
        tmp_path,
        "`event_id`",
        "uniqueness",
    )


def test_events_for_unknown_people(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    def ghost(t: Tables) -> None:
        ev = t["events"]
        row = ev.index[ev["type"] == "health_contact"][0]
        ev.loc[row, "person_id"] = "P-GHOST"

    _refused(
        write_cohort(_edit(cohort_tables, ghost), tmp_path / "c"),
        model_dir,
        tmp_path,
        "`person_id`",
        "refers to a person that exists",
        "P-GHOST",
    )


def test_empty_cohort(cohort_tables: Tables, model_dir: Path, tmp_path: Path) -> None:
    t = {k: v.iloc[:0] for k, v in cohort_tables.items()}
    _refused(write_cohort(t, tmp_path / "c"), model_dir, tmp_path, "empty")


def test_identifier_columns_each_named(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    def identify(t: Tables) -> None:
        t["people"]["full_name"] = "Jane Doe"
        t["people"]["postcode"] = "SW1A 1AA"
        t["households"]["address"] = "1 High Street"

    text = _refused(
        write_cohort(_edit(cohort_tables, identify), tmp_path / "c"),
        model_dir,
        tmp_path,
        "`people.full_name`",
        "`people.postcode`",
        "`households.address`",
    )
    assert "Jane" not in text and "SW1A" not in text  # values are never echoed


def test_identifier_values_each_named(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    def identify(t: Tables) -> None:
        t["events"].loc[5, "related_person_id"] = "someone@example.org"
        t["people"].loc[7, "person_id"] = "943 476 5919"  # a valid mod-11 check digit
        t["people"].loc[9, "birth_month"] = pd.Timestamp("2015-03-17")

    text = _refused(
        write_cohort(_edit(cohort_tables, identify), tmp_path / "c"),
        model_dir,
        tmp_path,
        "`events.related_person_id`",
        "e-mail",
        "`people.person_id`",
        "health-service",
        "`people.birth_month`",
        "exact dates of birth",
    )
    assert "example.org" not in text


def test_corrupt_parquet(cohort_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    path = cohort_dir / "events.parquet"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    _refused(cohort_dir, model_dir, tmp_path, "table `events`", "not a readable parquet")


def test_model_path_does_not_exist(cohort_dir: Path, tmp_path: Path) -> None:
    _refused(cohort_dir, tmp_path / "models" / "nope", tmp_path, "not found")


def test_tampered_model_file(cohort_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    path = model_dir / "model.skops"
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))
    _refused(cohort_dir, model_dir, tmp_path, "has been altered since it was trained")


def test_model_file_with_a_byte_appended(cohort_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    with (model_dir / "model.skops").open("ab") as fh:
        fh.write(b"\n")
    _refused(
        cohort_dir,
        model_dir,
        tmp_path,
        f"{model_dir / 'model.skops'} has been altered since it was trained",
        "does not match",
        "metadata.json",
    )


def test_model_file_re_saved_with_zeroed_coefficients(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    """A valid, trusted, normalised skops archive of an altered model is refused too."""
    import skops.io as sio

    from secondlook.models import load_model
    from secondlook.models.persist import _stable_zip

    model = load_model(model_dir)
    model.family.pipeline_[-1].coef_[:] = 0.0
    (model_dir / "model.skops").write_bytes(_stable_zip(sio.dumps(model)))
    _refused(cohort_dir, model_dir, tmp_path, "has been altered since it was trained")


def test_model_folder_without_a_recorded_hash(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    import json

    meta = json.loads((model_dir / "metadata.json").read_text())
    del meta["model_sha256"]
    (model_dir / "metadata.json").write_text(json.dumps(meta))
    _refused(cohort_dir, model_dir, tmp_path, "records no model_sha256", "retrain")


def test_model_file_with_an_untrusted_type(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    import hashlib
    import json

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from secondlook.models import load_model

    model = load_model(model_dir)
    model.family.sneaky_ = FunctionTransformer(func=print)  # an untrusted function reference
    data = sio.dumps(model)
    (model_dir / "model.skops").write_bytes(data)
    # with the hash updated to match as well, the trusted-types list still refuses it
    meta = json.loads((model_dir / "metadata.json").read_text())
    meta["model_sha256"] = hashlib.sha256(data).hexdigest()
    (model_dir / "metadata.json").write_text(json.dumps(meta))
    _refused(cohort_dir, model_dir, tmp_path, "untrusted")


@pytest.mark.parametrize("option", [["--from", "2020-13-01"], ["--engine", "spark"]])
def test_bad_options(cohort_dir: Path, model_dir: Path, tmp_path: Path, option: list[str]) -> None:
    out = tmp_path / "o" / "s.parquet"
    result = CliRunner().invoke(
        app, ["score", str(cohort_dir), "--model", str(model_dir), "--out", str(out), *option]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    # the message names the option and the value it refused
    flag, value = option
    assert flag in result.output and repr(value) in result.output, result.output
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("sig", "code", "said"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_a_terminated_run_leaves_nothing_behind(
    cohort_tables: dict[str, pd.DataFrame],
    model_dir: Path,
    tmp_path: Path,
    sig: str,
    code: int,
    said: str,
) -> None:
    """SIGTERM (``kill``, a scheduler's time limit) or SIGINT (Ctrl-C) mid-run: exit 143 or
    130, said so, no output, no temporary file, no spill folder, and no worker process left
    running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil
    import yaml

    from .conftest import REPO

    cohort = tmp_path / "cohort"
    cohort.mkdir()
    for name, df in cohort_tables.items():  # many row groups: two processes share the work
        df.to_parquet(cohort / f"{name}.parquet", index=False, row_group_size=200)
    values = yaml.safe_load((REPO / "params.yaml").read_text())
    values["score"].update(chunk_households=60, batch_rows=200)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(values))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out" / "scores.parquet"
    cmd = [sys.executable, "-m", "secondlook", "score", str(cohort), "--model", str(model_dir)]
    cmd += ["--out", str(out), "--params", str(params)]
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        workers = psutil.Process(proc.pid).children(recursive=True)
        if any(scratch.glob("secondlook-score-*")) and any(
            "spawn_main" in " ".join(w.cmdline()) for w in workers
        ):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be terminated"
    proc.send_signal(getattr(signal, sig))
    output = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == code, output
    assert f"{said} (" in output and "nothing was written" in output, output
    assert not any(scratch.glob("secondlook-score-*"))  # the spill folder
    assert not out.exists() and not list(out.parent.glob(".*.tmp"))
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, [p.cmdline() for p in alive]


def _hash_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "secondlook-hash" and t.is_alive()]


def test_events_file_removed_after_the_cohort_was_opened(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file goes (or becomes unreadable) while the run starts: a refusal naming it, not a
    bug, and no hashing thread left waiting."""
    import secondlook.score.stage as stage

    opened = stage.open_cohort

    def open_then_remove(*args: object, **kwargs: object) -> object:
        sources = opened(*args, **kwargs)  # type: ignore[arg-type]
        (cohort_dir / "events.parquet").unlink()
        return sources

    monkeypatch.setattr(stage, "open_cohort", open_then_remove)
    before = len(_hash_threads())
    text = _refused(cohort_dir, model_dir, tmp_path, "table `events`", "could not be read")
    assert "events.parquet" in " ".join(text.split())
    assert len(_hash_threads()) == before


def test_a_run_that_cannot_make_its_work_folder_starts_no_hashing_thread(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    from secondlook.score import run_score

    from .conftest import score_params

    before = len(_hash_threads())
    with pytest.raises(FileNotFoundError):
        run_score(
            cohort_dir,
            str(model_dir),
            tmp_path / "scores.parquet",
            score_params(),
            tmp_root=tmp_path / "no such folder",
            log=lambda _: None,
        )
    assert len(_hash_threads()) == before
    assert not (tmp_path / "scores.parquet").exists()
