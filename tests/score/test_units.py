"""Partitioning a parquet cohort of many row groups in two processes gives the serial plan,
the serial output bytes and the serial refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from secondlook.schema import TableError
from secondlook.score import run_score
from secondlook.score.chunks import partition_cohort
from secondlook.score.errors import IdentifierError
from secondlook.score.io import open_cohort
from secondlook.score.reading import load_chunk
from secondlook.score.stage import FLUSH_BATCHES
from secondlook.score.units import units_of

from .conftest import score_params

Tables = dict[str, pd.DataFrame]
BATCH = 2000


def _quiet(_: str) -> None:
    pass


def _write(tables: Tables, folder: Path) -> Path:
    """Parquet files of many small row groups (units of four row groups at BATCH rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False, row_group_size=500)
    return folder


def _partition(folder: Path, work: Path, parallel: bool) -> object:
    sources = open_cohort(folder)
    work.mkdir()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return partition_cohort(
            sources,
            work,
            chunk_households=60,
            window=(None, None),
            as_of=pd.Timestamp("2030-01-01"),
            batch_rows=BATCH,
            flush_rows=BATCH,
            pool=(lambda: pool) if parallel else None,
        )


def test_units_are_whole_row_groups_in_order(cohort_tables: Tables, tmp_path: Path) -> None:
    folder = _write(cohort_tables, tmp_path / "c")
    source = open_cohort(folder)["events"]
    units = units_of(source, BATCH)
    groups = pq.ParquetFile(source.path).metadata.num_row_groups
    assert len(units) >= 3
    assert [g for unit in units for g in unit] == list(range(groups))
    assert all(len(unit) == 4 for unit in units[:-1])


def test_two_processes_give_the_serial_plan_and_bytes(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    folder = _write(cohort_tables, tmp_path / "c")
    serial = _partition(folder, tmp_path / "w1", parallel=False)
    shared = _partition(folder, tmp_path / "w2", parallel=True)
    assert shared.counts == serial.counts  # type: ignore[attr-defined]
    assert shared.n_chunks == serial.n_chunks > 3  # type: ignore[attr-defined]
    for k in range(serial.n_chunks):  # type: ignore[attr-defined]
        a, b = load_chunk(serial, k), load_chunk(shared, k)  # type: ignore[arg-type]
        for table in ("households", "people", "events"):
            assert b[table].equals(a[table]), (k, table)  # same rows, same (file) order
    # end to end, with a spawned worker process partitioning and scoring
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    params = score_params(batch_rows=BATCH // FLUSH_BATCHES)  # units of BATCH rows
    run_score(folder, str(model_dir), one, params, workers=1, log=_quiet)
    doc = run_score(folder, str(model_dir), two, params, log=_quiet)
    assert doc["run"]["workers"] == 2
    assert one.read_bytes() == two.read_bytes()


def _refusal(folder: Path, work: Path, parallel: bool) -> Exception:
    with pytest.raises((TableError, IdentifierError)) as info:
        _partition(folder, work, parallel)
    return info.value


def test_a_refusal_in_a_later_unit_is_the_serial_refusal(
    cohort_tables: Tables, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    ev.loc[len(ev) - 3, "source"] = "not_a_source"  # in the last unit: this process's
    ev.loc[BATCH + 10, "type"] = "not_a_type"  # in the second unit: the worker's, first in file
    folder = _write(t, tmp_path / "c")
    serial = _refusal(folder, tmp_path / "w1", parallel=False)
    shared = _refusal(folder, tmp_path / "w2", parallel=True)
    assert isinstance(shared, TableError) and shared.column == "type"
    assert str(shared) == str(serial)


def test_an_identifier_before_a_broken_row_is_named_after_screening_everything(
    cohort_tables: Tables, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    ev.loc[5, "detail"] = "call 07700 900123 after six"  # unit 0: this process
    ev.loc[BATCH + 10, "type"] = "not_a_type"  # unit 1 (the worker) stops at this row ...
    ev.loc[BATCH + 20, "event_id"] = "jo.bloggs@example.org"  # ... but is screened on here
    ev.loc[BATCH * 2 + 5, "source"] = "Mrs Smith"  # a later unit
    folder = _write(t, tmp_path / "c")
    serial = _refusal(folder, tmp_path / "w1", parallel=False)
    shared = _refusal(folder, tmp_path / "w2", parallel=True)
    assert isinstance(serial, IdentifierError)
    assert "`events.event_id`" in str(serial) and "`events.source`" in str(serial)
    assert str(shared) == str(serial)


def test_household_ids_and_details_are_screened_where_no_vocabulary_vouches_for_them(
    cohort_tables: Tables, tmp_path: Path
) -> None:
    """A row's household id is screened in ``households`` and its detail is a vocabulary
    word, so the partition skips both -- except an unknown household's id, a detail not
    allowed for its type, and every id once the households' ids held an identifier."""
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    ev.loc[BATCH + 10, "household_id"] = "020 7946 0991"  # a household nobody holds (unit 1)
    ev.loc[BATCH * 2 + 5, "detail"] = "jo.bloggs@example.org"  # a later unit
    folder = _write(t, tmp_path / "c")
    for parallel, work in ((False, "w1"), (True, "w2")):
        found = str(_refusal(folder, tmp_path / work, parallel=parallel))
        events = folder / "events.parquet"
        assert (
            f"`events.household_id`: 1 value(s) that look like phone numbers, in 1 row(s) of "
            f"{events} (row {BATCH + 11})" in found
        ), found
        assert (
            f"`events.detail`: 1 value(s) that look like e-mail addresses, in 1 row(s) of "
            f"{events} (row {BATCH * 2 + 6})" in found
        ), found
        assert "`people.household_id`" not in found and "`households." not in found
    # the households' ids hold a postcode: every table's copy of that id is named
    t = {k: v.copy() for k, v in cohort_tables.items()}
    first = t["households"]["household_id"].iloc[0]
    for table in ("households", "people", "events"):
        df = t[table]
        df.loc[df["household_id"] == first, "household_id"] = "SW1A 1AA"
    folder = _write(t, tmp_path / "c2")
    serial = str(_refusal(folder, tmp_path / "w3", parallel=False))
    shared = str(_refusal(folder, tmp_path / "w4", parallel=True))
    for table in ("households", "people", "events"):
        line = next(x for x in serial.splitlines() if f"`{table}.household_id`" in x)
        copies = int((t[table]["household_id"] == "SW1A 1AA").sum())
        first = (t[table]["household_id"] == "SW1A 1AA").to_numpy().nonzero()[0][:5] + 1
        rows = ", ".join(f"row {i}" for i in first) + (", ..." if copies > 5 else "")
        where = f"in {copies} row(s) of {folder / f'{table}.parquet'} ({rows})"
        assert line.endswith(f"value(s) that look like postcodes, {where}"), serial
    assert shared == serial


@pytest.mark.slow
def test_a_local_cluster_partitions_and_scores_to_the_same_bytes(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--engine dask`` without ``--scheduler``: the LocalCluster it starts also partitions,
    and its workers' scratch files go with the run's work folder."""
    import tempfile

    folder = _write(cohort_tables, tmp_path / "c")
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    params = score_params(batch_rows=BATCH // FLUSH_BATCHES, dask_workers=2)  # units of BATCH
    alone = run_score(folder, str(model_dir), one, params, workers=1, log=_quiet)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the work folder's, and dask's
    doc = run_score(folder, str(model_dir), two, params, engine="dask", log=_quiet)
    assert doc["run"]["engine"] == "dask"
    assert one.read_bytes() == two.read_bytes()
    assert doc["counts"] == alone["counts"]  # each chunk's counts came back with its rows
    assert not list(scratch.iterdir())  # no dask-scratch-space left behind


def test_duplicate_ids_found_in_buckets_shared_with_the_worker_are_the_serial_refusal(
    cohort_tables: Tables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secondlook.score.chunks as chunks

    monkeypatch.setattr(chunks, "_n_buckets", lambda _source: 5)  # several buckets a column
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev, pe = t["events"], t["people"]
    ev.loc[BATCH * 2 + 7, "event_id"] = ev.loc[3, "event_id"]  # a duplicate across units
    pe.loc[len(pe) - 1, "person_id"] = pe.loc[0, "person_id"]  # people are checked first
    folder = _write(t, tmp_path / "c")
    serial = _refusal(folder, tmp_path / "w1", parallel=False)
    shared = _refusal(folder, tmp_path / "w2", parallel=True)
    assert isinstance(shared, TableError) and shared.column == "person_id"
    assert str(shared) == str(serial)
    # with the people's ids unique, the events' duplicate is named, by both
    pe.loc[len(pe) - 1, "person_id"] = "a-person-of-its-own"
    folder = _write(t, tmp_path / "d")
    serial = _refusal(folder, tmp_path / "w3", parallel=False)
    shared = _refusal(folder, tmp_path / "w4", parallel=True)
    assert isinstance(shared, TableError) and shared.column == "event_id"
    assert str(shared) == str(serial)
