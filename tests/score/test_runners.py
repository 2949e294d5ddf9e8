"""secondlook.score.runners: the dask engine gives exactly the pandas engine's output
(LocalCluster on 127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from secondlook.score import run_score
from secondlook.score.runners import local_cluster

from .conftest import score_params


def _quiet(_: str) -> None:
    pass


def test_dask_in_process_cluster_gives_identical_bytes(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    from distributed import Client

    a, b = tmp_path / "pandas.parquet", tmp_path / "dask.parquet"
    run_score(cohort_dir, str(model_dir), a, score_params(), engine="pandas", log=_quiet)
    with local_cluster(2, processes=False) as cluster, Client(cluster) as client:
        doc = run_score(
            cohort_dir, str(model_dir), b, score_params(), engine="dask", client=client, log=_quiet
        )
    assert doc["settings"]["chunks"] > 2
    assert a.read_bytes() == b.read_bytes()


def test_groups_of_chunks_give_identical_bytes_in_every_engine(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks spilled and read in groups (as at ten million referrals) score to the same bytes:
    in this process, with a spawned worker process, and on dask."""
    from distributed import Client

    from secondlook.score import chunks

    one = tmp_path / "one.parquet"
    doc = run_score(cohort_dir, str(model_dir), one, score_params(), workers=1, log=_quiet)
    n_chunks = doc["settings"]["chunks"]
    monkeypatch.setattr(chunks, "SPILL_KEYS", 3)
    assert chunks.chunks_per_group(n_chunks) > 1
    grouped = {name: tmp_path / f"{name}.parquet" for name in ("serial", "pool", "dask")}
    run_score(cohort_dir, str(model_dir), grouped["serial"], score_params(), workers=1, log=_quiet)
    doc = run_score(
        cohort_dir, str(model_dir), grouped["pool"], score_params(), workers=2, log=_quiet
    )
    assert doc["run"]["workers"] == 2 and doc["settings"]["chunks"] == n_chunks
    with local_cluster(2, processes=False) as cluster, Client(cluster) as client:
        run_score(
            cohort_dir,
            str(model_dir),
            grouped["dask"],
            score_params(),
            engine="dask",
            client=client,
            log=_quiet,
        )
    for path in grouped.values():
        assert path.read_bytes() == one.read_bytes(), path.name


@pytest.mark.slow
def test_dask_worker_processes_give_identical_bytes(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    """The cluster path: two worker processes on 127.0.0.1, a cohort of several chunks."""
    import os

    from distributed import Client

    a, b = tmp_path / "pandas.parquet", tmp_path / "dask.parquet"
    run_score(cohort_dir, str(model_dir), a, score_params(), engine="pandas", log=_quiet)
    with local_cluster(2, processes=True) as cluster, Client(cluster) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # two processes, not this one
        # by its address, as `secondlook score --scheduler tcp://…` reaches a real cluster
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        doc = run_score(
            cohort_dir,
            str(model_dir),
            b,
            score_params(),
            engine="dask",
            scheduler=address,
            log=_quiet,
        )
        assert doc["run"]["scheduler"] == address
    assert doc["settings"]["chunks"] > 2  # does not fit one chunk
    assert a.read_bytes() == b.read_bytes()


def test_shared_in_order_runs_each_task_once_and_yields_in_order() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from secondlook.score.runners import shared_in_order

    ran: list[tuple[str, int]] = []
    started = threading.Event()  # the worker is late: it starts once this process ran five

    def work(k: int) -> int:
        started.wait(timeout=10)
        return k * k

    def here(k: int) -> int:
        ran.append(("here", k))
        if sum(w == "here" for w, _ in ran) == 5:
            started.set()
        return k * k

    with ThreadPoolExecutor(max_workers=1) as pool:

        def there(k: int) -> object:
            ran.append(("there", k))
            return pool.submit(work, k)

        out = list(shared_in_order(40, here, there, ahead=2))
    assert out == [k * k for k in range(40)]
    assert sorted(k for _, k in ran) == list(range(40))  # each task once
    # while the worker was late this process went on with later tasks
    assert [k for w, k in ran if w == "here"][:5] == [2, 3, 4, 5, 6]


def test_shared_in_order_stops_working_here_once_a_worker_has_started() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from secondlook.score.runners import shared_in_order

    ran: list[tuple[str, int]] = []
    started = threading.Event()

    def work(k: int) -> int:
        started.wait(timeout=10)  # starting: busy until this process ran three tasks
        return -k

    def here(k: int) -> int:
        ran.append(("here", k))
        if len(ran) >= 5:
            started.set()
        time.sleep(0.1)  # a task takes a while: the workers' results arrive meanwhile
        return -k

    with ThreadPoolExecutor(max_workers=2) as pool:

        def there(k: int) -> object:
            ran.append(("there", k))
            return pool.submit(work, k)

        out = list(shared_in_order(30, here, there, ahead=2, until_started=True))
    assert out == [-k for k in range(30)]
    assert sorted(k for _, k in ran) == list(range(30))
    here_tasks = [k for w, k in ran if w == "here"]
    assert here_tasks == [2, 3, 4]  # then the workers had started: all the rest went there
    # and with no task run here at all, every task is sent elsewhere
    assert list(shared_in_order(7, None, lambda k: _Done(k))) == list(range(7))


def test_shared_in_order_sends_nothing_before_elsewhere_is_ready() -> None:
    from secondlook.score.runners import shared_in_order

    ran: list[tuple[str, int]] = []

    def here(k: int) -> int:
        ran.append(("here", k))
        return k + 100

    def there(k: int) -> _Done:
        ran.append(("there", k))
        return _Done(k + 100)

    def ready() -> bool:  # the worker has started once this process ran four tasks
        return sum(w == "here" for w, _ in ran) >= 4

    out = list(shared_in_order(12, here, there, ahead=2, ready=ready))
    assert out == [k + 100 for k in range(12)]
    # in order here until ready, and no task waited on a worker that had not started
    assert ran[:4] == [("here", 0), ("here", 1), ("here", 2), ("here", 3)]
    assert ran[4:6] == [("there", 4), ("there", 5)]
    assert sorted(k for _, k in ran) == list(range(12))
    # never ready, and nothing can run here: every task is still sent elsewhere
    assert list(shared_in_order(5, None, lambda k: _Done(k), ready=lambda: False)) == list(range(5))


def test_worker_pool_says_when_its_worker_has_started(tmp_path: Path) -> None:
    from secondlook.score.runners import WorkerPool

    started = tmp_path / "started"
    pool = WorkerPool(1, initializer=_wait_for, initargs=(str(started),))
    try:
        time.sleep(0.5)
        assert not pool.ready()  # its initializer is still running
        started.touch()
        deadline = time.monotonic() + 60
        while not pool.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.ready()
    finally:
        started.touch()
        pool.shutdown()


def _wait_for(path: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


class _Done:
    def __init__(self, value: int) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self) -> int:
        return self.value

    def cancel(self) -> bool:
        return False


def test_chunks_are_scored_with_arrow_jemalloc_pool_and_the_pool_is_restored(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    import secondlook.score.runners as runners

    if not _has_jemalloc():
        pytest.skip("this pyarrow was built without jemalloc")
    pools: list[str] = []
    score_chunk = runners.score_chunk

    def recording(*args: object, **kwargs: object) -> pa.Table:
        pools.append(pa.default_memory_pool().backend_name)
        return score_chunk(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runners, "score_chunk", recording)
    before = pa.default_memory_pool().backend_name
    out = tmp_path / "out.parquet"
    doc = run_score(cohort_dir, str(model_dir), out, score_params(), workers=1, log=_quiet)
    assert len(pools) == doc["settings"]["chunks"] > 2
    assert set(pools) == {"jemalloc"}
    assert pa.default_memory_pool().backend_name == before  # the caller's pool again

    # and after a run that stopped while scoring
    def failing(*args: object, **kwargs: object) -> pa.Table:
        raise RuntimeError("stopped while scoring")

    monkeypatch.setattr(runners, "score_chunk", failing)
    with pytest.raises(RuntimeError, match="stopped while scoring"):
        run_score(cohort_dir, str(model_dir), out, score_params(), workers=1, log=_quiet)
    assert pa.default_memory_pool().backend_name == before


def _has_jemalloc() -> bool:
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


_ORPHAN_PARENT = """
import sys, time
from secondlook.score.runners import process_pool

if __name__ == "__main__":
    pool = process_pool(1, None, None)
    while not pool.ready():
        time.sleep(0.05)
    print(*[p.pid for p in pool._processes.values()], flush=True)
    time.sleep(300)
"""


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose (its parent, now init, reaps it)
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_a_worker_ends_when_the_process_that_spawned_it_is_killed(tmp_path: Path) -> None:
    """SIGKILL (or the kernel's out-of-memory killer) gives the parent no chance to shut its
    pool down: the pandas engine's worker must not be left waiting, with its memory, for ever."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_PARENT)
    # its stderr to a file: the killed parent's resource tracker reports its semaphores there
    with (
        (tmp_path / "stderr").open("w") as stderr,
        subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=tmp_path,
        ) as parent,
    ):
        try:
            assert parent.stdout is not None
            line = parent.stdout.readline()
            assert line.strip(), (tmp_path / "stderr").read_text()
            worker = int(line)
            assert _alive(worker)
        finally:
            parent.kill()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(worker):  # do not leave it behind for the next test either
        os.kill(worker, signal.SIGKILL)
        pytest.fail(f"worker {worker} outlived its killed parent by 30 s")


def test_a_worker_writes_its_groups_output_which_is_read_back_a_chunk_at_a_time(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker process's groups come back through files in the work folder, a piece per
    chunk with its counts, read in turn and removed: the same bytes and counts as one process."""
    from secondlook.score import chunks, runners

    one = tmp_path / "one.parquet"
    alone = run_score(cohort_dir, str(model_dir), one, score_params(), workers=1, log=_quiet)
    monkeypatch.setattr(chunks, "SPILL_KEYS", 3)  # groups of several chunks

    def ready(pool: runners.WorkerPool) -> bool:  # wait for the worker: it takes groups at once
        for started in pool._started:
            started.result()
        return True

    read: list[int] = []

    class Watched(runners._Scored):
        def __iter__(self) -> Iterator[pa.Table]:
            paths = {path for path, _, _ in self.pieces}
            assert all(path.is_file() for path in paths)
            yield from super().__iter__()
            read.append(len(self.pieces))
            assert not any(path.exists() for path in paths)  # removed once read

    monkeypatch.setattr(runners.WorkerPool, "ready", ready)
    monkeypatch.setattr(runners, "_Scored", Watched)
    two = tmp_path / "two.parquet"
    doc = run_score(cohort_dir, str(model_dir), two, score_params(), workers=2, log=_quiet)
    assert doc["run"]["workers"] == 2
    assert read and min(read) > 1  # the worker scored groups, each a piece per chunk
    assert two.read_bytes() == one.read_bytes()
    assert doc["counts"] == alone["counts"]


def test_dask_complaints_about_a_removed_scratch_folder_of_ours_are_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A Ctrl-C'd scheduler releases its scratch folder after the run removed the work
    folder: dask's ERROR about that folder is dropped, any other is kept."""
    import logging

    from secondlook.score.runners import _OWN_SCRATCH

    ours = tmp_path / "secondlook-score-x" / "dask"
    _OWN_SCRATCH.folders.add(str(ours))
    log = logging.getLogger("distributed.diskutils")
    with caplog.at_level(logging.ERROR, logger="distributed.diskutils"):
        log.error("Failed to remove %r", str(ours / "dask-scratch-space" / "scheduler-1"))
        log.error("Failed to remove %r", str(tmp_path / "elsewhere"))
    assert [r.getMessage() for r in caplog.records] == [
        f"Failed to remove {str(tmp_path / 'elsewhere')!r}"
    ]
