"""The provenance manifest written beside every scored cohort, and atomic writes.

The manifest says what went in (each input file's SHA-256 and row counts), what came out
(referrals scored, flagged and rejected by reason), with which model (name, version, content
hash, threshold) and which settings. Everything that changes from one identical run to the next
-- the start time, the seconds taken, the code version and the host -- sits under one ``run``
key, so ``del manifest["run"]`` leaves a document that is byte-identical across reruns, and the
scored parquet itself holds no time at all.
"""

from __future__ import annotations

import functools
import platform
import threading
from concurrent.futures import CancelledError, Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from secondlook.gitinfo import git_state
from secondlook.models import file_sha256
from secondlook.score.validate import REJECTION_REASONS

if TYPE_CHECKING:
    from secondlook.params import ScoreParams
    from secondlook.score.engine import ChunkSettings

__all__ = ["InputHashes", "build_manifest", "code_version", "input_hashes"]

#: How far (bytes) :class:`InputHashes` reads a file ahead of the partition's position in it.
HASH_AHEAD_BYTES = 256 << 20


def code_version() -> dict[str, str]:
    """The package version and, in a git checkout, the commit and whether it is dirty."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg = version("secondlook")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        pkg = "unknown"
    out = {"package": pkg, "git_commit": "unknown", "git_dirty": "unknown"}
    state = git_state(Path(__file__).resolve().parent)
    if state is not None:
        out.update(git_commit=state[0], git_dirty=str(state[1]).lower())
    return out


def input_hashes(paths: dict[str, Path]) -> dict[str, dict[str, str]]:
    """``{table: {"path", "sha256", "format"}}`` for the cohort's files, in table-name order."""
    return _entries({name: (p, file_sha256(p)) for name, p in paths.items()})


def _entries(hashed: dict[str, tuple[Path, str]]) -> dict[str, dict[str, str]]:
    return {
        name: {"path": str(p), "format": p.suffix.lstrip("."), "sha256": sha}
        for name, (p, sha) in sorted(hashed.items())
    }


class InputHashes:
    """:func:`input_hashes`, computed in a daemon thread while the cohort is partitioned.

    The thread reads the files in the order the partition does, and never more than
    ``ahead`` bytes past the partition's position in a file whose rows it follows (the rows
    read so far, out of the file's total, as the partition reports them with
    :meth:`advance`). Its reads thus bring each block into the page cache just before the
    partition asks for it, and read the cohort from the disk once. Left to run freely, it read
    the 3.6 GB of ten million referrals while the partition was still on the people, and where
    the page cache (about 4 GB on the machine measured) cannot hold the cohort and the spill
    files together, the partition then read the events from the disk a second time. hashlib
    releases the GIL.

    Parameters
    ----------
    paths
        Table name -> file, in the order the partition reads them.
    rows
        Table name -> its rows, for each table the partition reports with :meth:`advance`
        (the others are read freely, as is a table once all its rows are reported).
    ahead
        Bytes the thread may read past the partition's position.
    """

    def __init__(
        self, paths: dict[str, Path], rows: dict[str, int], *, ahead: int = HASH_AHEAD_BYTES
    ) -> None:
        self._paths, self._rows, self._ahead = dict(paths), dict(rows), ahead
        self._done = dict.fromkeys(rows, 0)
        self._stopped = False
        self._moved = threading.Condition()
        self._future: Future[dict[str, dict[str, str]]] = Future()
        threading.Thread(target=self._run, name="secondlook-hash", daemon=True).start()

    def advance(self, table: str, rows: int) -> None:
        """The partition has read ``rows`` more rows of ``table`` (a callback per batch)."""
        if table in self._done:
            with self._moved:
                self._done[table] += rows
                self._moved.notify_all()

    def result(self) -> dict[str, dict[str, str]]:
        """The hashes, as :func:`input_hashes` gives them, once every file is read.

        Raises
        ------
        OSError
            As reading a file raised it.
        """
        self.release()  # whatever the partition reported, it is done with the files
        return self._future.result()

    def release(self) -> None:
        """Let the thread read every file to its end without waiting for the partition."""
        with self._moved:
            self._done.update(self._rows)
            self._moved.notify_all()

    def close(self) -> None:
        """Abandon the hashes if they are not done (a refused cohort): the thread ends at its
        next block."""
        with self._moved:
            self._stopped = True
            self._moved.notify_all()

    def _run(self) -> None:
        try:
            hashed = {
                name: (p, file_sha256(p, functools.partial(self._wait, name, p.stat().st_size)))
                for name, p in self._paths.items()
            }
            self._future.set_result(_entries(hashed))
        except BaseException as exc:  # raised where the result is asked for
            self._future.set_exception(exc)

    def _wait(self, table: str, size: int, pos: int) -> None:
        """Until the block at byte ``pos`` of ``table``'s file (``size`` bytes) may be read."""

        def allowed() -> bool:
            rows, done = self._rows.get(table), self._done.get(table, 0)
            return rows is None or done >= rows or pos < size * done // rows + self._ahead

        with self._moved:
            self._moved.wait_for(lambda: self._stopped or allowed())
            if self._stopped:
                raise CancelledError("the run ended before its inputs were hashed")


def host() -> dict[str, str]:
    """Where the run happened (python and platform; no user or host names)."""
    return {"python": platform.python_version(), "platform": platform.platform(terse=True)}


def build_manifest(
    *,
    inputs: dict[str, dict[str, str]],
    counts: dict[str, int],
    stats: dict[str, Any],
    bundle: Any,
    settings: ScoreParams,
    chunk_settings: ChunkSettings,
    engine: str,
    scheduler: str | None,
    n_chunks: int,
    out: Path,
    run: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of one scoring run (see the module docstring): its ``run`` entries are the
    only ones that differ between identical reruns; ``inputs``: :func:`input_hashes`."""

    def day(value: pd.Timestamp | None) -> str | None:
        return None if value is None else str(value.date())

    return {
        "output": {"path": str(out), "rows": stats["rows"]},
        "inputs": inputs,
        "counts": {
            "households": counts["households"],
            "people": counts["people"],
            "events": counts["events"],
            # every referral of the cohort: in the window (scored or rejected) or outside it
            "referrals": counts["referrals"],
            "referrals_in_window": counts["referrals_in_window"],
            "scored": stats["scored"],
            "flagged": stats["flagged"],
            "rejected": stats["rejected"],
            "rejected_by_reason": stats["rejected_by_reason"],
            "referrals_before_window": counts["referrals_before_window"],
            "referrals_after_window": counts["referrals_after_window"],
            # of those outside the window, the ones that break a rule (not scored either way)
            "out_of_window_rejected": stats["out_of_window_rejected"],
            "out_of_window_rejected_by_reason": stats["out_of_window_rejected_by_reason"],
            **(
                {
                    # the output has one row per decision dated in the window
                    "decisions": counts["decisions"],
                    "decisions_in_window": counts["decisions_in_window"],
                    "decisions_before_window": counts["decisions_before_window"],
                    "decisions_after_window": counts["decisions_after_window"],
                    "referrals_in_window_without_decision": stats["referrals_without_decision"],
                }
                if "decisions" in counts
                else {}
            ),
        },
        "rejection_reasons": REJECTION_REASONS,
        "model": {
            "source": bundle.source,
            "name": bundle.name,
            "version": bundle.version,
            "sha256": bundle.sha256,
            "content_sha256": bundle.content_sha256,
            "threshold": float(bundle.model.threshold_),
            "margin_threshold": float(bundle.model.margin_threshold_),
            "inputs": bundle.model.inputs,
            "label": bundle.metadata.get("label"),
            "training_window": bundle.metadata.get("training_window"),
        },
        "catalogue_version": chunk_settings.catalogue_version,
        "settings": {
            "from": day(chunk_settings.start),
            "to": day(chunk_settings.end),
            "chunk_households": settings.chunk_households,
            "batch_rows": settings.batch_rows,
            "top_k": settings.top_k,
            "decision_points": "decisions" if "decisions" in counts else "referrals",
            "reasons": chunk_settings.reasons,
            # explain.reference: the clean record stored with the model, or the training mean
            "reasons_measured_against": (
                None
                if not chunk_settings.reasons
                else "mean"
                if chunk_settings.reference is None
                else "clean_record"
            ),
            "as_of": day(chunk_settings.as_of),
            "chunks": n_chunks,
        },
        # how it ran: differs between identical reruns (and between engines), never the output
        "run": {"engine": engine, "scheduler": scheduler, **run},
    }
