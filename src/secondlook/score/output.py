"""The scoring run's output: the scored chunks written in order to one parquet file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from secondlook.score.engine import chunk_counts, output_schema

__all__ = ["write_output"]


def _with_pandas_types(schema: pa.Schema) -> pa.Schema:
    """``schema`` with pandas metadata, so that each column reads back as one pandas type.

    Without it pandas reads a boolean column holding nulls (``flag`` of a rejected referral)
    as ``object``; with it, as the nullable ``boolean``.
    """
    empty = schema.empty_table().to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    meta = pa.Schema.from_pandas(empty, preserve_index=False).metadata or {}
    return schema.with_metadata({b"pandas": meta[b"pandas"]})


def write_output(
    results: Iterator[pa.Table], path: Path, top_k: int, advance: Callable[[], object]
) -> dict[str, Any]:
    """Write the scored chunks, in order, to one parquet file (zstd) and count them.

    Parameters
    ----------
    results
        Each chunk's output (:func:`~secondlook.score.engine.score_chunk`), in chunk order.
    path
        The file (the caller's temporary name, renamed once the run is complete).
    top_k
        Reasons per row (:func:`~secondlook.score.engine.output_schema`).
    advance
        Called once per chunk written (progress).

    Returns
    -------
    dict
        ``rows``, ``scored``, ``flagged``, ``rejected`` and ``rejected_by_reason``;
        ``out_of_window_rejected`` and its ``_by_reason``, ``referrals_without_decision``
        (from each chunk's :func:`~secondlook.score.engine.chunk_counts`).
    """

    stats: dict[str, Any] = {"rows": 0, "scored": 0, "flagged": 0, "rejected": 0}
    reasons: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    without_decision = 0
    with pq.ParquetWriter(
        path, _with_pandas_types(output_schema(top_k)), compression="zstd"
    ) as writer:
        for table in results:
            counted = chunk_counts(table)
            outside.update(counted["out_of_window_rejected"])
            without_decision += int(counted["referrals_without_decision"])
            table = table.replace_schema_metadata(None)
            if table.num_rows:
                writer.write_table(table)
            stats["rows"] += table.num_rows
            scored = pc.equal(table.column("status"), "scored")
            stats["scored"] += int(pc.sum(scored).as_py() or 0)
            stats["flagged"] += int(pc.sum(table.column("flag")).as_py() or 0)
            for value in table.column("rejection_reason").drop_null().to_pylist():
                reasons[value] += 1
            advance()
    stats["rejected"] = sum(reasons.values())
    stats["rejected_by_reason"] = dict(sorted(reasons.items()))
    stats["out_of_window_rejected"] = sum(outside.values())
    stats["out_of_window_rejected_by_reason"] = dict(sorted(outside.items()))
    stats["referrals_without_decision"] = without_decision
    return stats
