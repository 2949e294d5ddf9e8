"""The engine: cached worlds are skipped, an interrupted sweep resumes, rows survive the cache."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from secondlook.sweep.engine import read_cached, run_worlds, write_cached
from secondlook.sweep.task import WorldTask

CALLS: list[int] = []


def fake_world(task: WorldTask) -> dict[str, Any]:
    """A stand-in for run_world: a row that depends on the task only."""
    CALLS.append(task.seed)
    return {
        "design": task.design,
        "scenario": task.scenario,
        "seed": task.seed,
        "n_households": task.n_households,
        "world_key": task.key,
        "estimate": task.seed / 7,
        "missing": math.nan,
        "seconds": 0.1,
    }


class Stop(Exception):
    pass


def _tasks(n: int) -> list[WorldTask]:
    params = {"synth": {"seed": 0, "n_households": 10}, "train": {}}
    return [WorldTask("d", "s", params, seed, 10, ("logreg",)) for seed in range(n)]


def test_resume_skips_finished_worlds(tmp_path: Path) -> None:
    tasks = _tasks(4)
    CALLS.clear()

    def interrupted(task: WorldTask) -> dict[str, Any]:
        if len(CALLS) == 2:
            raise Stop
        return fake_world(task)

    with pytest.raises(Stop):
        run_worlds(tasks, tmp_path, engine="pandas", run=interrupted, progress=False, log=str)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(t.key for t in tasks[:2])
    CALLS.clear()
    rows = run_worlds(tasks, tmp_path, engine="pandas", run=fake_world, progress=False, log=str)
    assert CALLS == [2, 3]  # only the unfinished worlds ran
    assert [r["seed"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["estimate"] == 0 / 7 and rows[1]["estimate"] == 1 / 7  # exact after JSON
    assert math.isnan(rows[0]["missing"])
    CALLS.clear()
    run_worlds(tasks, tmp_path, engine="pandas", run=fake_world, progress=False, log=str)
    assert CALLS == []


def test_cache_key_follows_params_seed_and_size() -> None:
    a = _tasks(1)[0]
    assert WorldTask("other", "names", a.params, a.seed, 10, ("logreg",)).key == a.key
    assert WorldTask("d", "s", a.params, 1, 10, ("logreg",)).key != a.key
    assert WorldTask("d", "s", a.params, 0, 11, ("logreg",)).key != a.key
    changed = {"synth": {"seed": 0, "n_households": 10}, "train": {"x": 1}}
    assert WorldTask("d", "s", changed, 0, 10, ("logreg",)).key != a.key


def test_a_damaged_cache_file_is_rerun(tmp_path: Path) -> None:
    (task,) = _tasks(1)
    write_cached(tmp_path, fake_world(task))
    assert read_cached(tmp_path, task) is not None
    (tmp_path / f"{task.key}.json").write_text("{not json")
    assert read_cached(tmp_path, task) is None
    assert not list(tmp_path.glob(".tmp-*"))


def test_identical_worlds_are_refused(tmp_path: Path) -> None:
    (task,) = _tasks(1)
    with pytest.raises(ValueError, match="identical"):
        run_worlds([task, task], tmp_path, engine="pandas", run=fake_world, progress=False)


def test_the_key_travels_with_the_task(tmp_path: Path) -> None:
    # the client's code hash is part of the task: a worker never recomputes it from files that
    # may have changed since the sweep started (a merge during a run once broke this)
    (task,) = _tasks(1)
    pinned = WorldTask("d", "s", task.params, 0, 10, ("logreg",), code="a" * 64)
    assert pinned.key != task.key
    assert WorldTask("d", "s", task.params, 0, 10, ("logreg",), code="a" * 64).key == pinned.key

    def wrong(t: WorldTask) -> dict[str, Any]:
        return fake_world(t) | {"world_key": "elsewhere"}

    with pytest.raises(ValueError, match="keyed 'elsewhere'"):
        run_worlds([task], tmp_path, engine="pandas", run=wrong, progress=False, log=str)
    assert not list(tmp_path.glob("*.json"))
