"""The engines that score every chunk with :func:`~secondlook.score.engine.score_chunk`.

In this process (:func:`run_pandas`), in this process and spawned worker processes
(:func:`run_pool`, the pandas engine on a large cohort), or on dask.distributed
(:func:`run_dask`, on a :func:`local_cluster` or a real cluster's scheduler). A task is a spill
group (:mod:`secondlook.score.reading`): one chunk, or a few at ten million referrals, read
together and scored one chunk at a time. Every engine feeds the groups in the same order and
yields the results in chunk order, so their outputs are identical.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from secondlook.models import CalibratedModel
from secondlook.score.engine import ChunkSettings, score_chunk
from secondlook.score.memory import use_jemalloc
from secondlook.score.reading import GroupFiles
from secondlook.score.spill import Piece, append_piece, read_pieces

__all__ = [
    "WorkerPool",
    "local_cluster",
    "process_pool",
    "run_dask",
    "run_pandas",
    "run_pool",
    "score_files",
    "score_files_to",
    "score_group",
    "shared_in_order",
]


#: group index -> the tables of each of its chunks
GroupLoader = Callable[[int], list[dict[str, pa.Table]]]
#: group index -> its chunks' households and its spill files
GroupNamer = Callable[[int], GroupFiles]


T = TypeVar("T")


def shared_in_order(
    n: int,
    here: Callable[[int], T] | None,
    there: Callable[[int], Any],
    *,
    ahead: int = 2,
    until_started: bool = False,
    ready: Callable[[], bool] | None = None,
) -> Generator[T, None, None]:
    """The results of tasks ``0 .. n-1`` in order, each run here or elsewhere, whichever is
    free first.

    Tasks are claimed in order: up to ``ahead`` at a time are submitted elsewhere (``there``:
    a worker process, a dask cluster), and this process runs the next unclaimed task itself
    (``here``) whenever the result due next is not ready. So a worker that starts late (a
    spawned interpreter importing scikit-learn) or a slower process (this one also writes the
    output) never holds the other up, as a fixed even/odd split did. Which process ran a task
    does not change its result, so neither does the order of the results.

    Parameters
    ----------
    n
        Tasks.
    here
        Task index -> its result, computed in this process; ``None``: every task is sent
        elsewhere (workers that use every core already), and this process only collects.
    there
        Task index -> a future of its result (``result()``, ``done()``, ``cancel()``).
    ahead
        Tasks submitted elsewhere and not yet collected, at most.
    until_started
        Run tasks here only until a task sent elsewhere has finished (workers that use every
        core once they have started, but take seconds to start).
    ready
        Whether elsewhere has started (asked until it says so; ``None``: from the start).
        Nothing is sent before, and this process runs the tasks meanwhile: a task sent to a
        worker still importing can be neither taken back nor run here, and this process
        waited for it (at a million referrals, 3 s of the people table's partition).

    Yields
    ------
    The results of tasks ``0 .. n-1``, in order.
    """
    pending: dict[int, Any] = {}
    done: dict[int, T] = {}
    claimed = 0
    try:
        for k in range(n):
            while k not in done:
                if ready is not None and (here is None or ready()):
                    ready = None
                while claimed < n and len(pending) < ahead and ready is None:
                    pending[claimed] = there(claimed)
                    claimed += 1
                if until_started and any(f.done() for f in pending.values()):
                    here = None  # the workers have started
                if k in pending and (pending[k].done() or claimed >= n or here is None):
                    done[k] = pending.pop(k).result()
                elif claimed < n and here is not None:
                    done[claimed] = here(claimed)
                    claimed += 1
            yield done.pop(k)
    finally:
        for future in pending.values():
            future.cancel()


class _Later:
    """A future whose result is passed through ``then`` when asked for."""

    def __init__(self, future: Future[Any], then: Callable[[Any], Any]) -> None:
        self.future, self.then = future, then

    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> bool:
        return self.future.cancel()

    def result(self) -> Any:
        return self.then(self.future.result())


def _flat(groups: Iterable[Iterable[pa.Table]]) -> Iterator[pa.Table]:
    for tables in groups:
        yield from tables


def score_group(
    chunks: Iterable[dict[str, pa.Table]], model: CalibratedModel, settings: ChunkSettings
) -> list[pa.Table]:
    """:func:`score_chunk` of each chunk of a group, in order."""
    return [score_chunk(tables, model, settings) for tables in chunks]


def run_pandas(
    n_groups: int,
    load: GroupLoader,
    model: CalibratedModel,
    settings: ChunkSettings,
) -> Iterator[pa.Table]:
    """Score the chunks one after another in this process, yielding results in chunk order.

    Parameters
    ----------
    n_groups
        How many spill groups (:attr:`secondlook.score.chunks.Plan.n_groups`).
    load
        Group index -> the tables of each of its chunks (read from the spill files).
    model, settings
        As :func:`score_chunk`.

    Yields
    ------
    pyarrow.Table
        One per chunk, in order.
    """
    for g in range(n_groups):
        for tables in load(g):
            yield score_chunk(tables, model, settings)


#: the model and settings of a worker process of :func:`process_pool`
_WORKER: dict[str, Any] = {}


def _init_worker(model: CalibratedModel, settings: ChunkSettings) -> None:
    exit_with_parent()
    use_jemalloc()
    _WORKER["model"], _WORKER["settings"] = model, settings
    import secondlook.explain.scoring  # noqa: F401 - import while the cohort is being partitioned

    # the imports and the model live as long as the process: out of the cyclic garbage
    # collector's way (as run_score does in its own process)
    gc.freeze()


def exit_with_parent() -> None:
    """End this process, from a daemon thread, as soon as the process that spawned it is gone.

    A :class:`~concurrent.futures.ProcessPoolExecutor` worker waits on its task queue, whose
    pipe it holds both ends of: when its parent is killed (SIGKILL, the kernel's out-of-memory
    killer) the worker is left waiting, with its memory, for ever. The parent's sentinel
    (:func:`multiprocessing.parent_process`) becomes ready when the parent ends. Does nothing in
    a process that was not started by :mod:`multiprocessing`.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)  # no clean-up to run: the parent owned the work folder and the output

    threading.Thread(target=watch, name="secondlook-parent-watch", daemon=True).start()


def _warm_up() -> None:
    """A task that only makes the pool start a worker (and run its initializer)."""


def _score_files(households: list[pa.Table], files: dict[str, list[Piece]]) -> list[pa.Table]:
    return score_files(households, files, _WORKER["model"], _WORKER["settings"])


#: the scored chunks a worker process writes for the main process: not compressed (read back
#: within seconds, and removed)
_SCORED_OPTIONS = pa.ipc.IpcWriteOptions(use_threads=False)


def _score_files_to(
    households: list[pa.Table], files: dict[str, list[Piece]], out: Path
) -> list[Piece]:
    return score_files_to(households, files, _WORKER["model"], _WORKER["settings"], out)


def score_files_to(
    households: list[pa.Table],
    files: dict[str, list[Piece]],
    model: CalibratedModel,
    settings: ChunkSettings,
    out: Path,
) -> list[Piece]:
    """:func:`score_files`, each chunk's output written to ``out`` as it is scored.

    For a worker whose results the calling process reads back one chunk at a time
    (:class:`_Scored`): returned whole, a group's output was held by the caller from the moment
    it was done until its turn to be written (at ten million referrals, groups of ten chunks,
    two groups in hand: some 150 MB).

    Returns
    -------
    list of Piece
        One per chunk, in order: an Arrow IPC file (uncompressed: read back within seconds,
        then removed) with the chunk's schema metadata
        (:func:`~secondlook.score.engine.chunk_counts`).
    """
    from secondlook.score.reading import read_group

    pieces = []
    for tables in read_group(households, files):
        table = score_chunk(tables, model, settings)
        pieces.append(append_piece(out, table.schema, table.to_batches(), _SCORED_OPTIONS))
    return pieces


class _Scored:
    """A group's output as a worker wrote it (:func:`_score_files_to`): each chunk's table read
    back when it is asked for, the file removed after the last."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[pa.Table]:
        for piece in self.pieces:
            yield read_pieces([piece])
        for path in {path for path, _, _ in self.pieces}:
            path.unlink(missing_ok=True)


def score_files(
    households: list[pa.Table],
    files: dict[str, list[Piece]],
    model: CalibratedModel,
    settings: ChunkSettings,
) -> list[pa.Table]:
    """:func:`score_group` of a group read here from its spill files (a worker that sees
    them; :func:`secondlook.score.reading.group_files` names them)."""
    from secondlook.score.reading import read_group

    return score_group(read_group(households, files), model, settings)


class WorkerPool(ProcessPoolExecutor):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` that says when its workers have
    started (each ran its initializer and a first empty task)."""

    def __init__(self, workers: int, **kwargs: Any) -> None:
        super().__init__(max_workers=workers, **kwargs)
        self._started = [self.submit(_warm_up) for _ in range(workers)]

    def ready(self) -> bool:
        """True once every worker has started."""
        return all(f.done() for f in self._started)


def process_pool(workers: int, model: CalibratedModel, settings: ChunkSettings) -> WorkerPool:
    """Worker processes for :func:`run_pool`, started (and importing) from now on.

    Processes are spawned (never forked from a process running Arrow's threads); each holds the
    model and settings. A script that starts them needs an ``if __name__ == "__main__":`` guard.

    Parameters
    ----------
    workers
        Worker processes.
    model, settings
        As :func:`score_chunk`.

    Returns
    -------
    WorkerPool
        Shut it down when done.
    """
    return WorkerPool(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(model, settings),
    )


def run_pool(
    n_groups: int,
    files: GroupNamer,
    pool: Executor,
    model: CalibratedModel,
    settings: ChunkSettings,
    *,
    processes: int,
    group_chunks: int = 1,
    scored: Path | None = None,
) -> Iterator[pa.Table]:
    """Score the chunks in this process and ``processes - 1`` workers, yielding in chunk order.

    Groups of chunks are shared as :func:`shared_in_order` shares tasks: each worker of
    ``pool`` (:func:`process_pool` with ``processes - 1`` workers) has groups in hand or
    queued, about four chunks' worth and two groups at least, and this process scores the next
    unclaimed group whenever the one due is not ready. Each reads its group from the spill
    files and runs :func:`score_chunk` on each of its chunks -- the same function on the same
    rows as :func:`run_pandas` -- so the results are identical. Scoring here as well, rather
    than leaving this process idle, saves one process's memory; of a worker's groups one is
    read at a time, the others are their output rows, or queued.

    Parameters
    ----------
    n_groups
        How many spill groups.
    files
        Group index -> its chunks' households and its spill files
        (:func:`secondlook.score.reading.group_files`).
    pool
        From :func:`process_pool`.
    model, settings
        As :func:`score_chunk`.
    processes
        This process and the pool's workers.
    group_chunks
        Chunks per group (:attr:`~secondlook.score.chunks.Plan.group_chunks`).
    scored
        A folder (existing) where the workers write each group's output, read back here one
        chunk at a time when its turn comes; ``None``: returned through the pool (held here
        whole until written).

    Yields
    ------
    pyarrow.Table
        One per chunk, in order.
    """

    def here(g: int) -> list[pa.Table]:
        return score_files(*files(g), model, settings)

    def there(g: int) -> Any:
        if scored is None:
            return pool.submit(_score_files, *files(g))
        future = pool.submit(_score_files_to, *files(g), scored / f"{g:05d}.arrow")
        return _Later(future, _Scored)

    # each worker has about four chunks in hand or queued: this process submits only between
    # its own groups, and with one chunk queued the worker idled 30 s of 290 at ten million
    # referrals. A group in hand returned through the pool is its chunks' output rows held
    # here: at ten million referrals (groups of five chunks) two groups rather than four took
    # this process's peak from 1,030 to 942 MB in the same time (first 100 chunks, 25.7 and
    # 26.5 s); written to ``scored``, only their pieces are held
    per_worker = max(2, -(-4 // group_chunks))
    ready = getattr(pool, "ready", None)
    yield from _flat(
        shared_in_order(n_groups, here, there, ahead=per_worker * (processes - 1), ready=ready)
    )


class _OwnScratch(logging.Filter):
    """Drop dask's complaints that it cannot remove a scratch folder of a run's work folder.

    The run removes its work folder, with the cluster's scratch files, once the cluster is
    closed; a scheduler interrupted by Ctrl-C releases its folder later still (a finalizer)
    and logged an ERROR for a folder that was already gone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.folders: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(folder in message for folder in self.folders)


_OWN_SCRATCH = _OwnScratch()
logging.getLogger("distributed.diskutils").addFilter(_OWN_SCRATCH)


def local_cluster(
    n_workers: int, *, processes: bool = True, local_directory: Path | None = None
) -> Any:
    """A dask.distributed LocalCluster on the loopback interface (no dashboard).

    Parameters
    ----------
    n_workers
        Worker count; one thread each.
    processes
        Workers in their own processes (default), or threads of this process (fast tests).
    local_directory
        Where the scheduler and the workers keep their scratch files (``dask-scratch-space``);
        default dask's, in the temporary directory, where it stays after the cluster is closed.

    Returns
    -------
    distributed.LocalCluster
    """
    import dask
    from distributed import LocalCluster

    # the workers' statistical profiler samples every thread's stack every 10 ms (for the
    # dashboard, which is off); the nannies pass this setting on to the worker processes.
    # MALLOC_TRIM_THRESHOLD_=65536, which nannies set by default, makes glibc hand freed
    # memory back to the kernel at once and fault it in again for the next chunk: unset, the
    # workers allocate as the pandas engine's processes do (measured at a million referrals:
    # the system CPU time of a run fell from 32 s to 15 s)
    settings = {
        "distributed.worker.profile.enabled": False,
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    }
    # the scheduler and every worker keep a workspace (locks, a worker's spilled data)
    scratch = {} if local_directory is None else {"local_directory": str(local_directory)}
    if local_directory is not None:
        _OWN_SCRATCH.folders.add(str(local_directory))
    with dask.config.set(settings):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            host="127.0.0.1",
            protocol="tcp",  # also for in-process workers: the loopback interface, never inproc
            dashboard_address=None,
            # With the dashboard off the scheduler still starts its HTTP server (health, metrics),
            # on port 8787 unless told otherwise: a busy 8787 (another cluster) warns and moves.
            # An ephemeral loopback port never collides.
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0", **scratch},
            silence_logs=logging.ERROR,
            **scratch,
        )


def run_dask(
    n_groups: int,
    load: GroupLoader,
    model: CalibratedModel,
    settings: ChunkSettings,
    client: Any,
    *,
    in_flight: int | None = None,
    files: GroupNamer | None = None,
    scored: Path | None = None,
) -> Iterator[pa.Table]:
    """Score the chunks on a dask.distributed cluster, yielding results in chunk order.

    At most ``in_flight`` groups of chunks are read and sent ahead of the one being written,
    so the client's memory stays bounded whatever the cohort's size. With ``files`` (workers
    that see this machine's spill folder: a LocalCluster) each worker reads its group itself
    from the spill files, as the pandas engine's worker process does, and only the chunks'
    households and the files' pieces travel; the rows and the function are the same, so is the
    output.

    Parameters
    ----------
    n_groups, load, model, settings
        As :func:`run_pandas`.
    client
        A connected ``distributed.Client``.
    in_flight
        Groups submitted ahead; default twice the number of worker threads (at least 2).
    files
        Group index -> its chunks' households and its spill files
        (:func:`secondlook.score.reading.group_files`), for workers that can read them;
        ``None``: this process reads each group (``load``).
    scored
        With ``files``: a folder (existing) where the workers write each group's output
        (:func:`score_files_to`), read back here one chunk at a time; ``None``: each group's
        output comes back through the cluster (held on a worker, then here, whole).

    Yields
    ------
    pyarrow.Table
        One per chunk, in order.
    """
    if in_flight is None:
        threads = sum(client.nthreads().values()) or 1
        in_flight = max(2, 2 * threads)
    remote_model = client.scatter(model, broadcast=True)
    futures: dict[int, Any] = {}
    next_g = 0
    try:
        for g in range(n_groups):
            while next_g < n_groups and next_g < g + in_flight:
                key = f"secondlook-score-group-{next_g}-{id(futures)}"
                if files is not None and scored is not None:
                    households, pieces = files(next_g)
                    out = scored / f"{next_g:05d}.arrow"
                    futures[next_g] = client.submit(
                        score_files_to,
                        households,
                        pieces,
                        remote_model,
                        settings,
                        out,
                        key=key,
                        pure=False,
                    )
                elif files is not None:
                    households, pieces = files(next_g)
                    futures[next_g] = client.submit(
                        score_files, households, pieces, remote_model, settings, key=key, pure=False
                    )
                else:
                    # scattered, not embedded in the task: a chunk is megabytes of rows
                    data = client.scatter([load(next_g)], hash=False)[0]  # one piece of data
                    futures[next_g] = client.submit(
                        score_group, data, remote_model, settings, key=key, pure=False
                    )
                next_g += 1
            result = futures.pop(g).result()
            yield from _Scored(result) if files is not None and scored is not None else result
    finally:
        for f in futures.values():
            f.cancel()
