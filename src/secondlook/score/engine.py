"""Scoring one household chunk, and the two engines that run every chunk.

:func:`score_chunk` is the one partition function: a chunk's tables and the model in, one output
row per referral of the window out -- scored (probability, flag, reasons) or rejected (reason).
It is module-level and depends only on its arguments, so it runs unchanged in this process
(:func:`run_pandas`), in this process and spawned worker processes (:func:`run_pool`, the pandas
engine on a large cohort) or on a dask.distributed worker (:func:`run_dask`); every engine feeds
the chunks in the same order and writes the results in chunk order, so their outputs are
identical.
Linear algebra runs single-threaded inside a chunk, so a sum is never reordered by a thread pool
and the floating-point results do not depend on the engine.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from secondlook.features import ID_COLUMNS, build_features
from secondlook.models import CalibratedModel
from secondlook.models.stage import ETHNICITY_INPUTS
from secondlook.schema import ETHNICITIES
from secondlook.score.validate import check_chunk

__all__ = [
    "CHUNK_COUNTS_KEY",
    "ChunkSettings",
    "chunk_counts",
    "output_schema",
    "process_pool",
    "run_dask",
    "run_pandas",
    "run_pool",
    "score_chunk",
]


@dataclass(frozen=True)
class ChunkSettings:
    """What every chunk needs besides its tables and the model.

    Attributes
    ----------
    start, end
        Inclusive referral dates to score (``None``: unbounded).
    top_k
        Reasons per scored referral.
    model_name, model_version, model_sha256, catalogue_version
        Written on every row, so each row says what produced it.
    reasons
        Whether to explain the scores (``False`` leaves the reason columns empty).
    as_of
        The cohort's extract date: referrals dated after it are rejected (``future_date``).
    reference
        What the reasons are measured against: (input, value) pairs of the model's clean-record
        reference (``explain.reference: clean_record``), or ``None`` for the training mean.
    """

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    top_k: int
    model_name: str
    model_version: str
    model_sha256: str
    catalogue_version: str
    reasons: bool = True
    as_of: pd.Timestamp | None = None
    reference: tuple[tuple[str, float], ...] | None = None


#: the schema metadata key of a chunk's result holding what it counted but did not output
CHUNK_COUNTS_KEY = b"secondlook.chunk_counts"


def chunk_counts(table: pa.Table) -> dict[str, Any]:
    """What :func:`score_chunk` counted besides its rows.

    Returns
    -------
    dict
        ``out_of_window_rejected``: reason -> rejected referrals dated outside the window;
        ``referrals_without_decision``: referrals dated in the window that no decision of the
        cohort's ``decisions`` table names (0 without one).
    """
    meta = table.schema.metadata or {}
    raw = meta.get(CHUNK_COUNTS_KEY)
    out: dict[str, Any] = json.loads(raw) if raw is not None else {}
    out.setdefault("out_of_window_rejected", {})
    out.setdefault("referrals_without_decision", 0)
    return out


def output_schema(top_k: int) -> pa.Schema:
    """The output table's columns and types for ``top_k`` reasons.

    Parameters
    ----------
    top_k
        Reasons per row; each adds ``reason_<i>_feature``, ``reason_<i>_sentence`` and
        ``reason_<i>_contribution`` (margin units: log-odds, or points for ``rules``).

    Returns
    -------
    pyarrow.Schema
    """
    fields = [
        pa.field("decision_id", pa.string(), nullable=False),
        pa.field("referral_event_id", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("household_id", pa.string(), nullable=False),
        pa.field("referral_date", pa.timestamp("s"), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("rejection_reason", pa.string()),
        pa.field("probability", pa.float64()),
        pa.field("probability_low", pa.float64()),
        pa.field("probability_high", pa.float64()),
        pa.field("flag", pa.bool_()),
        pa.field("threshold", pa.float64(), nullable=False),
    ]
    for i in range(1, top_k + 1):
        fields += [
            pa.field(f"reason_{i}_feature", pa.string()),
            pa.field(f"reason_{i}_sentence", pa.string()),
            pa.field(f"reason_{i}_contribution", pa.float64()),
        ]
    fields += [
        pa.field(name, pa.string(), nullable=False)
        for name in ("model_name", "model_version", "model_sha256", "catalogue_version")
    ]
    return pa.schema(fields)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    for column in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[column]):
            df[column] = df[column].astype("datetime64[s]")
    return df


def _reasons(
    model: CalibratedModel,
    X: pd.DataFrame,
    k: int,
    reference: tuple[tuple[str, float], ...] | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per rank: each row's reason feature, sentence and contribution (as ``top_reasons``)."""
    from secondlook.explain.scoring import reason_columns

    ref = None if reference is None else pd.Series(dict(reference), dtype=np.float64)
    return reason_columns(model, X, k, ref)


def _group_inputs(features: pd.DataFrame, people: pd.DataFrame, inputs: list[str]) -> None:
    """Add the ethnicity indicators when a study trained the model on them (in place)."""
    if not any(c in inputs for c in ETHNICITY_INPUTS):
        return
    eth = features["person_id"].map(people.set_index("person_id")["ethnicity"]).astype(str)
    for name, column in zip(ETHNICITIES, ETHNICITY_INPUTS, strict=True):
        features[column] = (eth == name).to_numpy().astype(np.int64)


def score_chunk(
    tables: dict[str, pa.Table], model: CalibratedModel, settings: ChunkSettings
) -> pa.Table:
    """Score every referral of the window in one household chunk.

    Parameters
    ----------
    tables
        ``households``, ``people`` and ``events`` of the chunk (contract columns and types),
        and ``decisions`` when the cohort has a decisions table: then exactly the decisions
        dated in the window are scored, each at its referral.
    model
        The calibrated model.
    settings
        The window, the number of reasons and the model's identity.

    Returns
    -------
    pyarrow.Table
        :func:`output_schema` rows, one per referral (or decision) dated in the window, sorted
        by date then id: ``status`` is ``scored`` (probability, flag at the model's threshold,
        reasons) or ``rejected`` (``rejection_reason``; no score). The referrals dated outside
        the window that break a rule are not rows but are counted, by reason, in the schema
        metadata (:func:`chunk_counts`), so that the manifest accounts for every referral of
        the cohort.

    Raises
    ------
    secondlook.schema.TableError
        If an event other than a referral breaks a cross-table rule (it pickles with its
        fields, so it reaches the stage from any engine, which names every failing row).
    """
    with threadpool_limits(limits=1):
        return _score_chunk(tables, model, settings)


def _score_chunk(
    tables: dict[str, pa.Table], model: CalibratedModel, settings: ChunkSettings
) -> pa.Table:
    hh = _to_pandas(tables["households"])
    people = _to_pandas(tables["people"])
    events = _to_pandas(tables["events"])
    # a TableError pickles with its fields: the stage names every failing row of the file
    history, rejected = check_chunk(hh, people, events, settings.as_of)
    hh, rejected = _unknown_deciles(hh, history, rejected, model.inputs)
    in_window = (events["type"] == "referral").to_numpy() & _in_window(events["date"], settings)
    window_refs = events.loc[in_window, ["event_id", "person_id", "household_id", "date"]]
    without_decision = 0
    if "decisions" in tables:
        refs, reason = _decision_points(
            _to_pandas(tables["decisions"]), hh, events, rejected, settings
        )
        named = set(_to_pandas(tables["decisions"])["referral_event_id"])
        without_decision = int((~window_refs["event_id"].isin(named)).sum())
    else:
        refs = window_refs.rename(columns={"event_id": "decision_id"})
        refs["referral_event_id"] = refs["decision_id"]
        refs = refs.sort_values(["date", "decision_id"], kind="stable").reset_index(drop=True)
        if len(rejected):
            reason = refs["referral_event_id"].map(rejected)
        else:  # the usual case: nothing to look up
            reason = pd.Series(np.full(len(refs), None, dtype=object), dtype="str")
    n = len(refs)
    ok = reason.isna().to_numpy()
    schema = output_schema(settings.top_k)
    cols: dict[str, Any] = {
        "decision_id": refs["decision_id"].to_numpy(),
        "referral_event_id": refs["referral_event_id"].to_numpy(),
        "person_id": refs["person_id"].to_numpy(),
        "household_id": refs["household_id"].to_numpy(),
        "referral_date": refs["date"].to_numpy(dtype="datetime64[s]"),
        "status": np.where(ok, "scored", "rejected"),
        "rejection_reason": np.where(ok, np.full(n, None, dtype=object), reason.to_numpy(object)),
    }
    probability = np.full(n, np.nan)
    probability_low = np.full(n, np.nan)
    probability_high = np.full(n, np.nan)
    flag = np.zeros(n, dtype=bool)
    reason_cols: dict[str, Any] = {}
    for i in range(1, settings.top_k + 1):
        reason_cols[f"reason_{i}_feature"] = np.full(n, None, dtype=object)
        reason_cols[f"reason_{i}_sentence"] = np.full(n, None, dtype=object)
        reason_cols[f"reason_{i}_contribution"] = np.full(n, np.nan)
    scored = np.flatnonzero(ok)
    if len(scored):
        chosen = refs.iloc[scored]
        decisions = pd.DataFrame(
            {
                "decision_id": chosen["decision_id"].to_numpy(),
                "person_id": chosen["person_id"].to_numpy(),
                "household_id": chosen["household_id"].to_numpy(),
                "decision_date": chosen["date"].to_numpy(dtype="datetime64[s]"),
                "referral_event_id": chosen["referral_event_id"].to_numpy(),
            },
            columns=list(ID_COLUMNS),
        )
        # one thread: the engines already run one process (or dask worker) per core
        features = build_features(hh, people, history, decisions, threads=1)
        _group_inputs(features, people, model.inputs)
        # the margin once for both (as model.probability and model.flag compute it)
        margin = model.decision_function(features)
        point, low, high = model.interval_from_margin(margin)
        probability[scored], probability_low[scored], probability_high[scored] = point, low, high
        flag[scored] = margin >= model.margin_threshold_
        if settings.reasons:
            ranks = _reasons(model, features, settings.top_k, settings.reference)
            for i, (feature, sentence, contribution) in enumerate(ranks, start=1):
                reason_cols[f"reason_{i}_feature"][scored] = feature
                reason_cols[f"reason_{i}_sentence"][scored] = sentence
                reason_cols[f"reason_{i}_contribution"][scored] = contribution
    cols["probability"] = np.where(ok, probability, np.nan)
    cols["probability_low"] = probability_low
    cols["probability_high"] = probability_high
    cols["flag"] = flag
    cols["threshold"] = np.full(n, float(model.threshold_))
    cols.update(reason_cols)
    arrays = []
    for f in schema:
        values = cols.get(f.name)
        if f.name in ("model_name", "model_version", "model_sha256", "catalogue_version"):
            values = np.full(n, getattr(settings, f.name), dtype=object)
        mask = None
        if f.name in ("probability_low", "probability_high"):
            mask = np.isnan(np.asarray(values))
        elif f.name in ("probability", "flag") or f.name.endswith("_contribution"):
            mask = ~ok if f.name in ("probability", "flag") else np.isnan(np.asarray(values))
        arrays.append(pa.array(values, type=f.type, mask=mask))
    outside = rejected[~rejected.index.isin(window_refs["event_id"])]
    counted = {
        "out_of_window_rejected": {
            str(k): int(v) for k, v in sorted(outside.value_counts().items())
        },
        "referrals_without_decision": without_decision,
    }
    return pa.Table.from_arrays(arrays, schema=schema).replace_schema_metadata(
        {CHUNK_COUNTS_KEY: json.dumps(counted).encode()}
    )


def _unknown_deciles(
    households: pd.DataFrame, history: pd.DataFrame, rejected: pd.Series, inputs: list[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Households whose deprivation decile the cohort records as unknown.

    When the model reads the decile, their referrals are rejected (``unknown_deprivation``);
    otherwise the decile is no input and a stand-in value (0) keeps the feature table typed.
    """
    decile = households["deprivation_decile"]
    unknown = decile.isna().to_numpy()
    if not unknown.any():
        return households, rejected
    if "deprivation_decile" in inputs:
        homes = households["household_id"].to_numpy(dtype=object)[unknown]
        refs = history[(history["type"] == "referral") & history["household_id"].isin(homes)]
        extra = pd.Series(
            "unknown_deprivation",
            index=pd.Index(refs["event_id"].to_numpy(), name="event_id"),
            dtype="str",
            name="rejection_reason",
        )
        rejected = pd.concat([rejected, extra]) if len(rejected) else extra
    households = households.assign(deprivation_decile=decile.fillna(0).astype(np.int64))
    return households, rejected


def _in_window(dates: pd.Series, settings: ChunkSettings) -> npt.NDArray[np.bool_]:
    ok = np.ones(len(dates), dtype=bool)
    if settings.start is not None:
        ok &= (dates >= settings.start).to_numpy()
    if settings.end is not None:
        ok &= (dates <= settings.end).to_numpy()
    return ok


def _decision_points(
    decisions: pd.DataFrame,
    households: pd.DataFrame,
    events: pd.DataFrame,
    rejected: pd.Series,
    settings: ChunkSettings,
) -> tuple[pd.DataFrame, pd.Series]:
    """The chunk's decisions dated in the window, and why each one cannot be scored (or NA).

    A decision is scored at its referral, which must be a referral event of the same person,
    household and date (the rule of :func:`secondlook.schema.validate_tables`); otherwise it
    is rejected -- ``unknown_household``, ``unknown_referral``, ``decision_mismatch`` -- and a
    decision whose referral was itself rejected takes the referral's reason.
    """
    d = decisions.loc[
        _in_window(decisions["decision_date"], settings),
        ["decision_id", "referral_event_id", "person_id", "household_id", "decision_date"],
    ].rename(columns={"decision_date": "date"})
    d = d.sort_values(["date", "decision_id"], kind="stable").reset_index(drop=True)
    ref = events.set_index("event_id").reindex(d["referral_event_id"].to_numpy())
    found = d["referral_event_id"].isin(events["event_id"]).to_numpy()
    same = found.copy()
    for column, mine in (("person_id", "person_id"), ("household_id", "household_id")):
        same &= ref[column].to_numpy(dtype=object) == d[mine].to_numpy(dtype=object)
    same &= ref["type"].to_numpy(dtype=object) == "referral"
    same &= ref["date"].to_numpy(dtype="datetime64[s]") == d["date"].to_numpy(dtype="datetime64[s]")
    known_hh = d["household_id"].isin(households["household_id"]).to_numpy()
    own = d["referral_event_id"].map(rejected) if len(rejected) else None
    reason = np.full(len(d), None, dtype=object)
    if own is not None:
        reason = np.where(same & own.notna().to_numpy(), own.to_numpy(dtype=object), reason)
    reason[~same] = "decision_mismatch"
    reason[~found] = "unknown_referral"
    reason[~known_hh] = "unknown_household"
    return d, pd.Series(reason, dtype="str")


ChunkLoader = Callable[[int], dict[str, pa.Table]]
ChunkFiles = Callable[[int], tuple[pa.Table, dict[str, list[Path]]]]


def run_pandas(
    n_chunks: int,
    load: ChunkLoader,
    model: CalibratedModel,
    settings: ChunkSettings,
) -> Iterator[pa.Table]:
    """Score the chunks one after another in this process, yielding results in chunk order.

    Parameters
    ----------
    n_chunks
        How many chunks.
    load
        Chunk index -> its tables (read from the spill files).
    model, settings
        As :func:`score_chunk`.

    Yields
    ------
    pyarrow.Table
        One per chunk, in order.
    """
    for k in range(n_chunks):
        yield score_chunk(load(k), model, settings)


#: the model and settings of a worker process of :func:`process_pool`
_WORKER: dict[str, Any] = {}


def _init_worker(model: CalibratedModel, settings: ChunkSettings) -> None:
    _WORKER["model"], _WORKER["settings"] = model, settings
    import secondlook.explain  # noqa: F401 - import shap while the cohort is being partitioned


def _warm_up() -> None:
    """A task that only makes the pool start a worker (and run its initializer)."""


def _score_files(households: pa.Table, files: dict[str, list[Path]]) -> pa.Table:
    from secondlook.score.chunks import read_chunk

    return score_chunk(read_chunk(households, files), _WORKER["model"], _WORKER["settings"])


def process_pool(workers: int, model: CalibratedModel, settings: ChunkSettings) -> Executor:
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
    concurrent.futures.Executor
        Shut it down when done.
    """
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(model, settings),
    )
    for _ in range(workers):
        pool.submit(_warm_up)
    return pool


def run_pool(
    n_chunks: int,
    files: ChunkFiles,
    pool: Executor,
    model: CalibratedModel,
    settings: ChunkSettings,
    *,
    processes: int,
) -> Iterator[pa.Table]:
    """Score the chunks in this process and ``processes - 1`` workers, yielding in chunk order.

    Chunk ``k`` is scored here when ``k % processes == 0`` and by a worker of ``pool``
    (:func:`process_pool` with ``processes - 1`` workers) otherwise; each reads its chunk from
    the spill files and runs :func:`score_chunk` -- the same function on the same rows as
    :func:`run_pandas` -- so the results are identical. Scoring here as well, rather than
    leaving this process idle, saves one process's memory. At most ``2 * processes`` chunks
    are submitted ahead of the one being yielded (bounded memory).

    Parameters
    ----------
    n_chunks
        How many chunks.
    files
        Chunk index -> its households and spill files (:func:`secondlook.score.chunks.chunk_files`).
    pool
        From :func:`process_pool`.
    model, settings
        As :func:`score_chunk`.
    processes
        This process and the pool's workers.

    Yields
    ------
    pyarrow.Table
        One per chunk, in order.
    """
    from secondlook.score.chunks import read_chunk

    futures: dict[int, Future[pa.Table]] = {}
    next_k = 0
    try:
        for k in range(n_chunks):
            while next_k < n_chunks and next_k < k + 2 * processes:
                if next_k % processes:
                    futures[next_k] = pool.submit(_score_files, *files(next_k))
                next_k += 1
            if k % processes:
                yield futures.pop(k).result()
            else:
                yield score_chunk(read_chunk(*files(k)), model, settings)
    finally:
        for f in futures.values():
            f.cancel()


def local_cluster(n_workers: int, *, processes: bool = True) -> Any:
    """A dask.distributed LocalCluster on the loopback interface (no dashboard).

    Parameters
    ----------
    n_workers
        Worker count; one thread each.
    processes
        Workers in their own processes (default), or threads of this process (fast tests).

    Returns
    -------
    distributed.LocalCluster
    """
    from distributed import LocalCluster

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
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )


def run_dask(
    n_chunks: int,
    load: ChunkLoader,
    model: CalibratedModel,
    settings: ChunkSettings,
    client: Any,
    *,
    in_flight: int | None = None,
) -> Iterator[pa.Table]:
    """Score the chunks on a dask.distributed cluster, yielding results in chunk order.

    At most ``in_flight`` chunks are read and sent ahead of the one being written, so the
    client's memory stays bounded whatever the cohort's size.

    Parameters
    ----------
    n_chunks, load, model, settings
        As :func:`run_pandas`.
    client
        A connected ``distributed.Client``.
    in_flight
        Chunks submitted ahead; default twice the number of worker threads (at least 2).

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
    next_k = 0
    try:
        for k in range(n_chunks):
            while next_k < n_chunks and next_k < k + in_flight:
                # scattered, not embedded in the task: a chunk is megabytes of rows
                data = client.scatter([load(next_k)], hash=False)[0]  # a dict would name keys
                futures[next_k] = client.submit(
                    score_chunk,
                    data,
                    remote_model,
                    settings,
                    key=f"secondlook-score-chunk-{next_k}-{id(futures)}",
                    pure=False,
                )
                next_k += 1
            result = futures.pop(k).result()
            yield result
    finally:
        for f in futures.values():
            f.cancel()
