"""The ``score`` stage: a cohort folder and a model in, one scored row per referral out.

:func:`run_score` is the stage entry the CLI calls. In order, and before anything is written:
load the model safely; open and check the cohort's tables; stream them into household chunks
(types, identifier screening, vocabularies, unique ids); then score chunk by chunk -- in this
process or on dask.distributed -- writing each chunk's rows to a temporary parquet file beside
the output. Only when every referral of the window is accounted for (scored or rejected with a
reason) is the file renamed into place, followed by its JSON manifest, which also counts the
referrals dated before and after the window and those of them that break a rule. A cohort with
a ``decisions`` table is scored at exactly its decisions dated in the window instead (one row
each, scored or rejected), and the manifest counts the referrals of the window no decision
names. Any error leaves the
output path as it was and removes every temporary file.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from secondlook.features import catalogue_version
from secondlook.fileio import default_file_mode, write_json
from secondlook.models import CalibratedModel
from secondlook.params import ScoreParams
from secondlook.schema import TableError
from secondlook.score.chunks import Plan, partition_cohort
from secondlook.score.cohort_view import check_view
from secondlook.score.engine import ChunkSettings
from secondlook.score.errors import ModelLoadError, ScoreError
from secondlook.score.io import TableSource, open_cohort
from secondlook.score.memory import lean_memory_pool, use_jemalloc
from secondlook.score.model import ModelBundle, resolve_model
from secondlook.score.output import write_output
from secondlook.score.provenance import InputHashes, build_manifest, code_version, host
from secondlook.score.reading import GroupFiles, group_files, load_group
from secondlook.score.runners import local_cluster, process_pool, run_dask, run_pandas, run_pool
from secondlook.score.spill import stored_rows
from secondlook.score.validate import history_failures

__all__ = ["manifest_path", "run_score"]

Engine = Literal["pandas", "dask"]


def manifest_path(out: Path) -> Path:
    """The manifest beside ``out``: ``x.parquet`` -> ``x.manifest.json``."""
    return out.with_name(out.name.removesuffix(".parquet") + ".manifest.json")


def _timestamp(value: dt.date | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def _reference(bundle: ModelBundle, reference: str) -> pd.Series | None:
    """The model's stored clean-record reference (None for ``mean``); a refusal names it."""
    from secondlook.errors import ModelFileError
    from secondlook.explain.scoring import saved_reference

    try:
        return saved_reference(
            bundle.metadata, bundle.model.inputs, reference, source=f"model {bundle.source}"
        )
    except ModelFileError as exc:
        raise ModelLoadError(str(exc)) from None


def run_score(
    cohort: Path,
    model: str,
    out: Path,
    settings: ScoreParams,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    engine: Engine | None = None,
    scheduler: str | None = None,
    client: Any = None,
    manifest: Path | None = None,
    progress: bool = False,
    reasons: bool = True,
    tmp_root: Path | None = None,
    workers: int | None = None,
    as_of: dt.date | None = None,
    delimiter: str | None = None,
    reference: str = "clean_record",
    log: Callable[[str], object] = print,
) -> dict[str, Any]:
    """Score every referral of a cohort's window and write the output and its manifest.

    Parameters
    ----------
    cohort
        Folder with ``households``, ``people`` and ``events`` (``.parquet`` or ``.csv``), and
        optionally ``decisions``: the decision points to score (otherwise every referral).
    model
        ``models/<family>`` or ``models:/<name>@<alias>``.
    out
        The output parquet file.
    settings
        The ``score:`` section.
    start, end
        Inclusive referral window; default ``settings.start`` / ``settings.end``.
    engine
        ``"pandas"`` or ``"dask"``; default ``settings.engine``.
    scheduler
        A dask scheduler address (``tcp://host:8786``); without it ``--engine dask`` starts a
        LocalCluster on 127.0.0.1 with ``settings.dask_workers`` workers.
    client
        An already connected ``distributed.Client`` (tests); overrides ``scheduler``.
    manifest
        The manifest path; default :func:`manifest_path` of ``out``.
    progress
        Show a rich progress bar on stderr.
    reasons
        Explain the scores (top ``settings.top_k`` reasons per referral).
    tmp_root
        Where the temporary spill folder goes (default the system's temporary folder).
    workers
        With the pandas engine, processes that score the chunks: this one and ``workers - 1``
        spawned workers (1: this process only). Default: two when the cohort makes
        :data:`POOL_MIN_CHUNKS` chunks or more and two cores are available, else 1. The output
        does not depend on it.
    as_of
        The cohort's extract date (default today, UTC): a referral dated after it is rejected
        (``future_date``), any other event dated after it refuses the cohort, and so does a
        birth month more than ten months after it.
    delimiter
        The separator of CSV tables (default: found from each header line).
    reference
        ``explain.reference``: reasons against the model's stored clean record (as in the
        case review packs) or, ``mean``, the training mean.
    log
        Where the summary line goes.

    Returns
    -------
    dict
        The manifest that was written.

    Raises
    ------
    ScoreError, secondlook.schema.TableError
        On any input a user can fix; nothing is written.
    """
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    if (out := Path(out)).suffix != ".parquet":
        raise ScoreError(f"--out must name a .parquet file, got {out}")
    engine, window = engine or settings.engine, _window(settings, start, end)
    bundle = resolve_model(model)
    sources = open_cohort(cohort, delimiter=delimiter)
    check_view(Path(cohort), bundle.metadata, sources)
    chunk_settings = _chunk_settings(
        settings, bundle, window, as_of, reasons, _reference(bundle, reference) if reasons else None
    )
    work = Path(tempfile.mkdtemp(prefix="secondlook-score-", dir=tmp_root))
    tmp_out = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.tmp")  # beside the output
    how, published = _How(engine, client, scheduler, workers, work=work), False
    try:
        hashes = _hash_inputs(sources, how.own)
        plan, stats = _partition_and_score(
            sources, work, tmp_out, bundle.model, chunk_settings, settings, progress, how, hashes
        )
        _check_accounted(plan.counts, stats)
        seconds = time.perf_counter() - t0
        doc = build_manifest(
            inputs=hashes.result(),
            counts=plan.counts,
            stats=stats,
            bundle=bundle,
            settings=settings,
            chunk_settings=chunk_settings,
            engine=engine,
            scheduler=scheduler,
            n_chunks=plan.n_chunks,
            out=out,
            run=how.record(started, seconds),
        )
        tmp_out.chmod(default_file_mode())  # as if written in place, whatever wrote it
        tmp_out.replace(out)
        published = True
        write_json(manifest or manifest_path(out), doc)
    finally:
        _clean_up(how.own, work, None if published else tmp_out)
    log(_summary_line(stats, seconds, engine, out))
    return doc


def _hash_inputs(sources: dict[str, TableSource], own: list[Any]) -> InputHashes:
    """The inputs' hashes, read in the partition's order, each file just ahead of it (its
    streamed parquet tables: their rows are known); the thread joins what the call owns."""
    order = ["households", "people", "events", "decisions"]
    paths = {n: sources[n].path for n in sorted(sources, key=order.index)}
    rows = {
        n: stored_rows(s)
        for n, s in sources.items()
        if s.fmt == "parquet" and n != "households"  # read whole, before anything else
    }
    own.append(hashes := InputHashes(paths, rows))
    return hashes


def _summary_line(stats: dict[str, Any], seconds: float, engine: str, out: Path) -> str:
    """The one line a scoring run prints: counts, time, engine and output."""
    return (
        f"score: {stats['rows']} referrals ({stats['scored']} scored, {stats['flagged']} "
        f"flagged, {stats['rejected']} rejected) in {seconds:.1f}s with {engine} -> {out}"
    )


@dataclass
class _How:
    """How the chunks are scored: the engine, what it runs on, and what this call started."""

    engine: str
    client: Any  # a connected distributed.Client, or None
    scheduler: str | None
    workers: int | None  # the pandas engine's processes (None: chosen from the chunks)
    # the hashing thread, and a pool or a client and its cluster
    own: list[Any] = field(default_factory=list)
    # this run's work folder: a LocalCluster it starts keeps its scratch files there
    work: Path | None = None

    def record(self, started: str, seconds: float) -> dict[str, Any]:
        """The manifest's ``run`` entries this call knows (the engine is added there)."""
        return {
            "workers": self.workers if self.engine == "pandas" else None,
            "started_at": started,
            "seconds": round(seconds, 3),
            "code": code_version(),
            "host": host(),
        }


def _window(
    settings: ScoreParams, start: dt.date | None, end: dt.date | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The inclusive referral window (default the settings'), checked."""
    start = start if start is not None else settings.start
    end = end if end is not None else settings.end
    if start is not None and end is not None and end < start:
        raise ScoreError(f"--to ({end}) is before --from ({start})")
    return _timestamp(start), _timestamp(end)


def _chunk_settings(
    settings: ScoreParams,
    bundle: Any,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    as_of: dt.date | None,
    reasons: bool,
    reference: pd.Series | None = None,
) -> ChunkSettings:
    """What every chunk needs: the window, the model, the extract date (default today, UTC),
    and what the reasons are measured against (None: the training mean)."""
    as_of = as_of if as_of is not None else dt.datetime.now(dt.UTC).date()
    return ChunkSettings(
        start=window[0],
        end=window[1],
        top_k=settings.top_k,
        model_name=bundle.name,
        model_version=bundle.version,
        model_sha256=bundle.sha256,
        catalogue_version=catalogue_version(),
        reasons=reasons,
        as_of=pd.Timestamp(as_of),
        reference=None
        if reference is None
        else tuple((str(k), float(v)) for k, v in reference.items()),
    )


def _partition_and_score(
    sources: dict[str, TableSource],
    work: Path,
    tmp_out: Path,
    model: CalibratedModel,
    chunk_settings: ChunkSettings,
    settings: ScoreParams,
    progress: bool,
    how: _How,
    hashes: InputHashes,
) -> tuple[Plan, dict[str, Any]]:
    """Stream the cohort into chunks under ``work``, score them into ``tmp_out``.

    Returns the plan and the output's counts; ``how.workers`` is set when it was ``None``.
    ``hashes`` is told of each batch read.
    """
    gc.freeze()  # the imports and the model (below: why; _clean_up unfreezes)
    with _progress_bar(progress) as bar, lean_memory_pool():
        reading = bar.add_task("reading rows", total=None)

        def on_batch(table: str, rows: int) -> None:
            bar.advance(reading, rows)
            hashes.advance(table, rows)

        plan = partition_cohort(
            sources,
            work,
            chunk_households=settings.chunk_households,
            window=(chunk_settings.start, chunk_settings.end),
            as_of=chunk_settings.as_of,
            batch_rows=settings.batch_rows,
            # a chunk's buffered rows are written every few batches (the default batch of
            # 262,144 rows: every 1,048,576), and the two processes share units that long
            flush_rows=FLUSH_BATCHES * settings.batch_rows,
            on_batch=on_batch,
            pool=lambda: _early_pool(how, model, chunk_settings, settings.dask_workers),
        )
        bar.update(reading, total=plan.counts["people"] + plan.counts["events"])
        pa.default_memory_pool().release_unused()  # the batches are gone: give memory back
        # Python's cyclic garbage collector traverses every tracked object at each full
        # collection, and scoring a chunk (pandas) triggers several: the imports, the model and
        # the plan's lists of spill pieces are hundreds of thousands of objects that live until
        # the end. Frozen (as what existed before the partition; _clean_up unfreezes them),
        # they are never traversed: at ten million referrals the first 150 chunks
        # scored in 61.0 and 64.8 s against 70.1 and 70.3 s, 10% less CPU in both processes
        # (the worker processes freeze theirs once started)
        gc.freeze()
        if how.engine == "pandas" and how.workers is None:
            how.workers = _default_workers(plan.n_chunks)
        scoring = bar.add_task("scoring chunks", total=plan.n_chunks)
        results = _results(plan, model, chunk_settings, settings, how)
        tmp_out.parent.mkdir(parents=True, exist_ok=True)
        try:
            stats = write_output(results, tmp_out, settings.top_k, lambda: bar.advance(scoring))
        except TableError as exc:
            if exc.located or exc.table != "events":
                raise
            _locate_history(exc, plan, sources["events"], chunk_settings.as_of)
    return plan, stats


def _progress_bar(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=False,
    )


def _results(
    plan: Plan,
    model: CalibratedModel,
    chunk_settings: ChunkSettings,
    settings: ScoreParams,
    how: _How,
) -> Iterator[pa.Table]:
    """The scored chunks, in chunk order, from the chosen engine (what it starts joins
    ``how.own``)."""
    engine, client, workers = how.engine, how.client, how.workers

    def load(g: int) -> list[dict[str, pa.Table]]:
        return load_group(plan, g)

    def files(g: int) -> GroupFiles:
        return group_files(plan, g)

    if engine == "dask":
        if client is None:
            client = _connect(how.scheduler, settings.dask_workers, how)
        # a LocalCluster this call started sees the spill folder: its workers read their chunks
        from distributed import LocalCluster

        local = any(isinstance(thing, LocalCluster) for thing in how.own)
        named = files if local else None
        return run_dask(
            plan.n_groups,
            load,
            model,
            chunk_settings,
            client,
            files=named,
            scored=_scored_folder(plan) if local else None,
        )
    if engine == "pandas" and workers is not None and workers > 1 and plan.n_groups > 1:
        # started only now (unless it partitioned), so that idle workers do not add to the
        # partition's memory
        pool = next((p for p in how.own if isinstance(p, Executor)), None)
        if pool is None:
            pool = process_pool(workers - 1, model, chunk_settings)
            how.own.append(pool)
        return run_pool(
            plan.n_groups,
            files,
            pool,
            model,
            chunk_settings,
            processes=workers,
            group_chunks=plan.group_chunks,
            scored=_scored_folder(plan),
        )
    return run_pandas(plan.n_groups, load, model, chunk_settings)


def _scored_folder(plan: Plan) -> Path:
    """Where workers write their groups' output, for this process to read a chunk at a time."""
    scored = plan.work / "scored"
    scored.mkdir(exist_ok=True)
    return scored


def _check_accounted(counts: dict[str, int], stats: dict[str, Any]) -> None:
    """The nothing-lost invariant: one output row per decision point of the window."""
    unit = "decisions" if "decisions" in counts else "referrals"
    if stats["rows"] != counts[f"{unit}_in_window"]:
        raise RuntimeError(
            f"{counts[f'{unit}_in_window']} {unit} in the window but "
            f"{stats['rows']} output rows; nothing was written"
        )
    outside = counts["referrals_before_window"] + counts["referrals_after_window"]
    if stats["out_of_window_rejected"] > outside:
        raise RuntimeError(
            f"{stats['out_of_window_rejected']} rejected referrals outside the window but "
            f"only {outside} referrals there; nothing was written"
        )


def _clean_up(own: list[Any], work: Path, tmp_out: Path | None) -> None:
    """Stop what this call started, remove the spill folder and any unfinished output, and
    give the objects :func:`_partition_and_score` froze back to the garbage collector."""
    gc.unfreeze()
    try:
        for thing in own:
            if isinstance(thing, Executor):
                thing.shutdown(wait=True, cancel_futures=True)
        for thing in own:
            if not isinstance(thing, Executor):
                thing.close()
    finally:
        # only once everything this call started is closed: a LocalCluster keeps its scratch
        # files in the folder (removed under it, it logged an error for each), and its worker
        # may still be writing a group's output (score_files_to) until then
        shutil.rmtree(work, ignore_errors=True)
        if tmp_out is not None:
            tmp_out.unlink(missing_ok=True)


def _locate_history(
    exc: TableError, plan: Plan, events: TableSource, as_of: pd.Timestamp | None
) -> NoReturn:
    """Raise ``exc`` again naming every event of the cohort that breaks its rule, by line.

    A chunk found the rule broken; this error path checks every chunk for the same rule and
    reads the events file once more to name the failing rows' lines.
    """
    failing: list[Any] = []
    for t in (t for g in range(plan.n_groups) for t in load_group(plan, g)):
        failing.extend(
            history_failures(
                _frame(t["households"]),
                _frame(t["people"]),
                _frame(t["events"]),
                exc.column,
                exc.check,
                as_of,
            ).tolist()
        )
    ids = pa.array(failing, type=pa.string())

    def bad(parsed: pa.Table, _stored: pa.Table) -> Any:
        found = pc.is_in(parsed.column("event_id"), ids)
        return found.fill_null(False).to_numpy(zero_copy_only=False)

    show = tuple(dict.fromkeys(("type", exc.column)))
    events.refuse(exc.column, exc.check, bad, show=show)


def _frame(table: pa.Table) -> pd.DataFrame:
    from secondlook.score.engine import _to_pandas

    return _to_pandas(table)


#: batches whose routed rows are buffered before they are written to the spill files
FLUSH_BATCHES = 4

#: chunks from which the pandas engine scores in two processes by default (a cohort whose
#: streamed parquet tables are a single unit of row groups: otherwise the worker is started to
#: partition): spawning a worker (a fresh interpreter importing scikit-learn) costs about as
#: much as scoring eight chunks of 20,000 households, sixteen of the default 10,000, and the
#: worker takes half of the chunks
POOL_MIN_CHUNKS = 32


def _early_pool(
    how: _How, model: CalibratedModel, chunk_settings: ChunkSettings, dask_workers: int
) -> Any:
    """What partitions every other unit of row groups of a large parquet cohort, or None.

    The pandas engine's worker process (started now; it then scores every other chunk), or,
    with ``--engine dask`` on a LocalCluster this call starts, that cluster (its workers read
    the cohort's files, which a cluster elsewhere may not see: with ``--scheduler`` or a
    given client the partition stays in this process).
    """
    if how.engine == "dask":
        if how.client is not None or how.scheduler:
            return None
        how.client = _connect(None, dask_workers, how)
        return _DaskSubmit(how.client)
    if how.workers == 1 or _cores() < 2:
        return None
    pool = process_pool(1, model, chunk_settings)
    how.own.append(pool)
    how.workers = 2
    return pool


@dataclass
class _DaskSubmit:
    """A dask client seen as an executor (``submit`` returns a future with ``result``)."""

    client: Any
    #: the cluster's workers take every unit: with this process as well, three processes
    #: would share two cores (measured: 1.6x the pandas engine's time at a million referrals)
    partitions_here: bool = False

    @property
    def ahead(self) -> int:
        """Units handed to the cluster at once: one in hand and one queued per worker."""
        return 2 * max(1, sum(self.client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def broadcast(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on every worker."""
        self.client.run(fn)


def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def _default_workers(n_chunks: int) -> int:
    """Two processes for a cohort of many chunks on a machine with two cores, else 1."""
    return 2 if _cores() >= 2 and n_chunks >= POOL_MIN_CHUNKS else 1


def _connect(scheduler: str | None, n_workers: int, how: _How) -> Any:
    from distributed import Client

    own = how.own
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise ScoreError(f"cannot reach the dask scheduler {scheduler}: {exc}") from None
        own.append(client)
        return client
    # its scratch files in the work folder, removed with it (dask's default, the temporary
    # directory's dask-scratch-space, stayed after every run)
    scratch = None if how.work is None else how.work / "dask"
    cluster = local_cluster(n_workers, processes=True, local_directory=scratch)
    own.append(cluster)
    client = Client(cluster)
    own.insert(0, client)  # close the client before its cluster
    client.run(use_jemalloc)  # as the pandas engine's workers (its own processes)
    client.run(gc.freeze)  # as the pandas engine's workers (its own processes: stopped after)
    return client
