"""Scoring one household chunk (the engines that run every chunk: :mod:`.runners`).

:func:`score_chunk` is the one partition function: a chunk's tables and the model in, one output
row per referral of the window out -- scored (probability, flag, reasons) or rejected (reason).
It is module-level and depends only on its arguments, so it runs unchanged in this process
(:func:`~secondlook.score.runners.run_pandas`), in this process and spawned worker processes
(:func:`~secondlook.score.runners.run_pool`, the pandas engine on a large cohort) or on a
dask.distributed worker (:func:`~secondlook.score.runners.run_dask`); every engine feeds the
chunks in the same order and writes the results in chunk order, so their outputs are
identical.
Linear algebra runs single-threaded inside a chunk, so a sum is never reordered by a thread pool
and the floating-point results do not depend on the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
        Reasons per row; each adds ``reason_<i>_feature``, ``reason_<i>_sentence``,
        ``reason_<i>_contribution`` (margin units: log-odds, or points for ``rules``) and
        ``reason_<i>_against_guidance`` (a nullable boolean: True where the reason moved the
        score against the catalogue's direction, as the case review packs mark it; null where
        there is no reason, or when reasons are measured against the training mean).

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
            pa.field(f"reason_{i}_against_guidance", pa.bool_()),
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
    margin: npt.NDArray[np.float64] | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per rank: each row's reason feature, sentence, contribution (as ``top_reasons``) and
    whether it goes against guidance (as the packs mark it; None when not known)."""
    from secondlook.explain.scoring import reason_columns

    ref = None if reference is None else pd.Series(dict(reference), dtype=np.float64)
    return reason_columns(model, X, k, ref, margin)


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
        decisions = _to_pandas(tables["decisions"])
        refs, reason = _decision_points(decisions, hh, events, rejected, settings)
        named = set(decisions["referral_event_id"])
        without_decision = int((~window_refs["event_id"].isin(named)).sum())
    else:
        refs, reason = _referral_points(window_refs, rejected)
    ok = reason.isna().to_numpy()
    cols: dict[str, Any] = {
        "decision_id": refs["decision_id"].to_numpy(),
        "referral_event_id": refs["referral_event_id"].to_numpy(),
        "person_id": refs["person_id"].to_numpy(),
        "household_id": refs["household_id"].to_numpy(),
        "referral_date": refs["date"].to_numpy(dtype="datetime64[s]"),
        "status": np.where(ok, "scored", "rejected"),
        "rejection_reason": np.where(
            ok, np.full(len(refs), None, dtype=object), reason.to_numpy(object)
        ),
    }
    cols.update(_scores(refs, ok, hh, people, history, model, settings))
    outside = rejected[~rejected.index.isin(window_refs["event_id"])]
    counted = {
        "out_of_window_rejected": {
            str(k): int(v) for k, v in sorted(outside.value_counts().items())
        },
        "referrals_without_decision": without_decision,
    }
    return _output_table(cols, ok, settings).replace_schema_metadata(
        {CHUNK_COUNTS_KEY: json.dumps(counted).encode()}
    )


def _referral_points(
    window_refs: pd.DataFrame, rejected: pd.Series
) -> tuple[pd.DataFrame, pd.Series]:
    """Every referral of the window as a decision point (sorted by date then id), and why each
    one cannot be scored (or NA)."""
    refs = window_refs.rename(columns={"event_id": "decision_id"})
    refs["referral_event_id"] = refs["decision_id"]
    refs = refs.sort_values(["date", "decision_id"], kind="stable").reset_index(drop=True)
    if len(rejected):
        return refs, refs["referral_event_id"].map(rejected)
    # the usual case: nothing to look up
    return refs, pd.Series(np.full(len(refs), None, dtype=object), dtype="str")


def _scores(
    refs: pd.DataFrame,
    ok: npt.NDArray[np.bool_],
    hh: pd.DataFrame,
    people: pd.DataFrame,
    history: pd.DataFrame,
    model: CalibratedModel,
    settings: ChunkSettings,
) -> dict[str, Any]:
    """The score columns of every point: probability, interval, flag, threshold and reasons
    (NaN or None where the point is rejected, ``ok`` False)."""
    n = len(refs)
    probability = np.full(n, np.nan)
    probability_low = np.full(n, np.nan)
    probability_high = np.full(n, np.nan)
    flag = np.zeros(n, dtype=bool)
    reason_cols: dict[str, Any] = {}
    for i in range(1, settings.top_k + 1):
        reason_cols[f"reason_{i}_feature"] = np.full(n, None, dtype=object)
        reason_cols[f"reason_{i}_sentence"] = np.full(n, None, dtype=object)
        reason_cols[f"reason_{i}_contribution"] = np.full(n, np.nan)
        reason_cols[f"reason_{i}_against_guidance"] = np.full(n, None, dtype=object)
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
            ranks = _reasons(model, features, settings.top_k, settings.reference, margin)
            for i, (feature, sentence, contribution, against) in enumerate(ranks, start=1):
                reason_cols[f"reason_{i}_feature"][scored] = feature
                reason_cols[f"reason_{i}_sentence"][scored] = sentence
                reason_cols[f"reason_{i}_contribution"][scored] = contribution
                reason_cols[f"reason_{i}_against_guidance"][scored] = against
    return {
        "probability": np.where(ok, probability, np.nan),
        "probability_low": probability_low,
        "probability_high": probability_high,
        "flag": flag,
        "threshold": np.full(n, float(model.threshold_)),
        **reason_cols,
    }


def _output_table(
    cols: dict[str, Any], ok: npt.NDArray[np.bool_], settings: ChunkSettings
) -> pa.Table:
    """The columns as an :func:`output_schema` table (nulls where a value is missing)."""
    n = len(ok)
    schema = output_schema(settings.top_k)
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
    return pa.Table.from_arrays(arrays, schema=schema)


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
