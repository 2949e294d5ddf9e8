"""Run a sweep's worlds: in this process, or as tasks on a dask.distributed cluster.

Every finished world is written to a cache folder as ``<key>.json`` (the task's
:attr:`~secondlook.sweep.task.WorldTask.key`: params, seed, size, families, seed cases and the
package's code), the moment it finishes. A rerun reads the worlds it finds there and runs only
the others, so an interrupted sweep resumes where it stopped and a finished one costs nothing.

Engines: ``pandas`` runs the worlds one after another in this process; ``dask`` submits each as
one task to a cluster — the scheduler at ``--scheduler tcp://…``, or a LocalCluster on
127.0.0.1 with one single-threaded worker process per core asked for.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from secondlook.fileio import json_ready, write_atomically
from secondlook.sweep.task import WorldTask, run_world

__all__ = ["Engine", "cluster_client", "read_cached", "write_cached", "run_worlds"]

Engine = Literal["pandas", "dask"]


def read_cached(cache: Path, task: WorldTask) -> dict[str, Any] | None:
    """The cached row of ``task``, or None. A file that is not valid JSON counts as absent.

    Missing values (written as ``null``) come back as NaN.
    """
    path = cache / f"{task.key}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("world_key") != task.key:
        return None
    row = {k: (math.nan if v is None else v) for k, v in data.items()}
    # identifying names follow the design that asks, not the one that computed the world
    row["design"], row["scenario"] = task.design, task.scenario
    return row


def write_cached(cache: Path, row: dict[str, Any]) -> Path:
    """Write ``row`` to ``cache/<world_key>.json`` atomically (a temporary file, then a rename)."""
    text = json.dumps(json_ready(dict(row)), indent=1) + "\n"  # NaN -> null, numpy -> Python
    return write_atomically(cache / f"{row['world_key']}.json", text)


@contextlib.contextmanager
def _progress(total: int, done: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A rich progress bar over ``total`` worlds (``done`` already cached); yields ``advance``."""
    if not enabled:
        yield lambda _label: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]sweep[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        job = bar.add_task("worlds", total=total, completed=done)

        def advance(label: str) -> None:
            bar.update(job, advance=1, description=label)

        yield advance


@contextlib.contextmanager
def cluster_client(
    scheduler: str | None, n_workers: int, memory_limit: str | None = None
) -> Iterator[Any]:
    """A Client of the scheduler at ``scheduler``, or of a LocalCluster on 127.0.0.1
    (``n_workers`` single-threaded worker processes, no dashboard)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP server (health, metrics) would take 8787 even with the
            # dashboard off, and warn when another cluster holds it: an ephemeral loopback port
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
            memory_limit=memory_limit or "auto",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_worlds(
    tasks: Sequence[WorldTask],
    cache: Path | None,
    *,
    engine: Engine = "dask",
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int = 2,
    memory_limit: str | None = None,
    progress: bool = True,
    run: Callable[[WorldTask], dict[str, Any]] = run_world,
    log: Callable[[str], Any] = print,
) -> list[dict[str, Any]]:
    """Run every task not already in ``cache`` and return all rows, in task order.

    Parameters
    ----------
    tasks
        The worlds (:func:`secondlook.sweep.task.make_tasks`).
    cache
        Folder of finished worlds (``<key>.json``); None runs everything and caches nothing.
    engine
        ``"pandas"`` (one after another, in this process) or ``"dask"``.
    scheduler
        ``tcp://host:port`` of a running dask scheduler; default a LocalCluster on 127.0.0.1.
    client
        An existing :class:`distributed.Client` (tests use an in-process cluster); wins over
        ``scheduler``.
    n_workers
        LocalCluster worker processes (one thread each).
    memory_limit
        Per-worker memory limit of the LocalCluster (e.g. ``"3GB"``); default dask's.
    progress
        Show a rich progress bar on stderr.
    run
        The task function (module-level, so it pickles); default :func:`run_world`.
    log
        Where the one-line account goes.

    Returns
    -------
    list of dict
        One row per task, cached rows included; each finished world is cached as soon as it
        arrives, so an interruption loses only the worlds still running.
    """
    if engine not in ("pandas", "dask"):
        raise ValueError(f"engine must be pandas or dask, got {engine!r}")
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("two worlds of the sweep are identical (same params and seed)")
    rows: dict[str, dict[str, Any]] = {}
    if cache is not None:
        for t in tasks:
            hit = read_cached(cache, t)
            if hit is not None:
                rows[t.key] = hit
    pending = [t for t in tasks if t.key not in rows]
    log(f"sweep: {len(tasks)} worlds, {len(rows)} cached, {len(pending)} to run ({engine})")

    def finish(task: WorldTask, row: dict[str, Any]) -> None:
        if row.get("world_key") != task.key:  # a task function that keyed the row otherwise
            raise ValueError(
                f"world {task.scenario}/{task.seed} came back keyed {row.get('world_key')!r}, "
                f"expected {task.key!r}"
            )
        if cache is not None:
            write_cached(cache, row)
        rows[task.key] = row

    with _progress(len(tasks), len(rows), progress) as advance:
        if engine == "pandas" or not pending:
            for t in pending:
                finish(t, run(t))
                advance(f"{t.scenario}/{t.seed}")
        else:
            from distributed import as_completed

            with contextlib.ExitStack() as stack:
                if client is None:
                    client = stack.enter_context(cluster_client(scheduler, n_workers, memory_limit))
                futures = {
                    client.submit(run, t, key=f"world-{t.key}", pure=False): t for t in pending
                }
                for future in as_completed(futures):
                    t = futures[future]
                    finish(t, future.result())
                    advance(f"{t.scenario}/{t.seed}")
    return [rows[k] for k in keys]
