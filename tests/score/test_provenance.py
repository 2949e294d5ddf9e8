"""secondlook.score.provenance.InputHashes: the inputs' hashes, read just ahead of the
partition."""

from __future__ import annotations

import os
import time
from concurrent.futures import CancelledError
from pathlib import Path

import pytest

from secondlook.fileio import file_sha256
from secondlook.score.provenance import InputHashes, input_hashes

MiB = 1 << 20


def _file(path: Path, mib: int) -> Path:
    path.write_bytes(os.urandom(mib * MiB))
    return path


def _finished(hashes: InputHashes, seconds: float = 0.3) -> bool:
    time.sleep(seconds)
    return hashes._future.done()


def test_the_hashes_are_input_hashes_in_table_name_order(tmp_path: Path) -> None:
    paths = {t: _file(tmp_path / f"{t}.parquet", 2) for t in ("households", "people", "events")}
    hashes = InputHashes(paths, {"people": 10, "events": 10})
    got = hashes.result()  # nothing reported: result() lets it read on
    assert got == input_hashes(paths)
    assert list(got) == ["events", "households", "people"]
    assert got["events"]["sha256"] == file_sha256(paths["events"])


def test_a_file_is_read_no_further_than_ahead_of_the_partition(tmp_path: Path) -> None:
    first = _file(tmp_path / "households.parquet", 1)
    events = _file(tmp_path / "events.parquet", 8)
    hashes = InputHashes({"households": first, "events": events}, {"events": 8}, ahead=MiB)
    # the households are not followed; of the events, the first MiB (ahead of row 0) only
    assert not _finished(hashes)
    hashes.advance("people", 100)  # a table it does not follow changes nothing
    hashes.advance("events", 6)  # 6 of 8 rows: up to 6 MiB + 1 MiB ahead, not the last MiB
    assert not _finished(hashes)
    hashes.advance("events", 2)
    assert _finished(hashes, 5.0)
    assert hashes.result()["events"]["sha256"] == file_sha256(events)


def test_closed_the_thread_ends_and_gives_no_hashes(tmp_path: Path) -> None:
    events = _file(tmp_path / "events.parquet", 4)
    hashes = InputHashes({"events": events}, {"events": 4}, ahead=MiB)
    assert not _finished(hashes)
    hashes.close()
    with pytest.raises(CancelledError):
        hashes._future.result(timeout=5)


def test_a_file_that_cannot_be_read_raises_where_the_result_is_asked_for(tmp_path: Path) -> None:
    hashes = InputHashes({"events": tmp_path / "gone.parquet"}, {})
    with pytest.raises(FileNotFoundError):
        hashes.result()
