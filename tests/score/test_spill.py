"""Spill files: a chunk's rows come back from the compact spilled columns exactly as they were
checked (the oracle: the cohort's own rows of the chunk's households, read with pandas)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from secondlook.score import chunks as chunks_mod
from secondlook.score import spill as spill_mod
from secondlook.score.chunks import chunks_per_group, partition_cohort
from secondlook.score.io import open_cohort
from secondlook.score.lookup import SortedHashes, string_hash
from secondlook.score.reading import group_files, load_chunk, load_group
from secondlook.score.spill import (
    Spill,
    chunks_of_group,
    decoded_pieces,
    read_pieces,
    restored_columns,
    spilled_columns,
)

from .conftest import write_cohort

Tables = dict[str, pd.DataFrame]
PER_CHUNK = 60


def _plan(tables: Tables, tmp_path: Path) -> object:
    folder = write_cohort(tables, tmp_path / "cohort")
    work = tmp_path / "work"
    work.mkdir()
    return partition_cohort(
        open_cohort(folder),
        work,
        chunk_households=PER_CHUNK,
        window=(None, None),
        as_of=pd.Timestamp("2030-01-01"),
        batch_rows=700,  # many batches, some with a household the cohort lacks, some without
        flush_rows=1500,
    )


def _rows(df: pd.DataFrame, sort: list[str]) -> pd.DataFrame:
    return df.sort_values(sort, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("spill_keys", [None, 3])
def test_every_chunk_reads_back_its_households_rows_exactly(
    cohort_tables: Tables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill_keys: int | None
) -> None:
    """One spill key per chunk, and (3 keys at most) groups of several chunks split on reading."""
    if spill_keys is not None:
        monkeypatch.setattr(chunks_mod, "SPILL_KEYS", spill_keys)
    t = {k: v.copy() for k, v in cohort_tables.items()}
    # events of households the cohort does not hold go to the orphan chunk, with their ids
    ev = t["events"]
    orphans = [5, len(ev) // 3, len(ev) - 2]
    ev.loc[orphans, "household_id"] = ["H-none-1", "H-none-2", "H-none-1"]
    plan = _plan(t, tmp_path)
    hh = _rows(t["households"], ["household_id"])
    ids = hh["household_id"].to_numpy()
    assert plan.n_chunks == -(-len(hh) // PER_CHUNK) + 1  # the orphan chunk last
    n_hh_chunks = plan.n_chunks - 1
    assert plan.group_chunks == (1 if spill_keys is None else -(-n_hh_chunks // 3)) >= 1
    assert plan.n_groups == -(-n_hh_chunks // plan.group_chunks) + 1
    assert sorted(plan.files) == list(range(plan.n_groups))  # a spill key per group
    groups = [load_group(plan, g) for g in range(plan.n_groups)]
    assert [len(g) for g in groups] == [len(plan.chunks_of(g)) for g in range(plan.n_groups)]
    assert sum(len(g) for g in groups) == plan.n_chunks
    seen = {"people": 0, "events": 0}
    for k in range(plan.n_chunks):
        chunk = load_chunk(plan, k)
        in_group = groups[plan.group_of(k)][k - plan.chunks_of(plan.group_of(k)).start]
        assert all(in_group[name].equals(chunk[name]) for name in chunk)
        mine = ids[k * PER_CHUNK : (k + 1) * PER_CHUNK]
        got_hh = chunk["households"].to_pandas()
        pd.testing.assert_frame_equal(
            got_hh.reset_index(drop=True),
            hh.iloc[k * PER_CHUNK : (k + 1) * PER_CHUNK].reset_index(drop=True),
            check_dtype=False,
        )
        for name in ("people", "events"):
            got = chunk[name]
            assert got.schema.field("household_id").type == pa.string()
            for column in ("type", "source", "role", "sex", "ethnicity"):
                if column in got.column_names:
                    assert got.schema.field(column).type == pa.string()
            stored = pq.read_table(tmp_path / "cohort" / f"{name}.parquet")
            home = stored.column("household_id").to_numpy(zero_copy_only=False)
            keep = np.isin(home, mine) if len(mine) else ~np.isin(home, ids)
            want = stored.filter(pa.array(keep)).select(got.column_names).cast(got.schema)
            assert got.column_names == list(t[name].columns)
            assert got.equals(want)  # the same rows in file order, value for value
            seen[name] += got.num_rows
    assert seen == {"people": len(t["people"]), "events": len(ev)}
    orphan = load_chunk(plan, plan.n_chunks - 1)["events"].to_pandas()
    assert orphan["household_id"].tolist() == ["H-none-1", "H-none-2", "H-none-1"]


def test_a_chunks_households_are_a_copy_read_from_the_work_folder(
    cohort_tables: Tables, tmp_path: Path
) -> None:
    plan = _plan(cohort_tables, tmp_path)
    assert plan.group_chunks == 1
    (households,), _files = group_files(plan, 1)
    assert households.num_rows == PER_CHUNK
    # a pickled chunk carries only its own households
    assert len(pickle.dumps(households)) < 20_000
    (last,), _ = group_files(plan, plan.n_chunks)  # past the last household chunk: none
    assert last.num_rows == 0
    assert last.schema.names == ["household_id", "local_authority", "deprivation_decile"]


@pytest.mark.parametrize(
    ("n_chunks", "keys", "per_group"), [(1, 128, 1), (128, 128, 1), (129, 128, 2), (636, 128, 5)]
)
def test_chunks_are_grouped_to_at_most_the_spill_keys(
    n_chunks: int, keys: int, per_group: int
) -> None:
    assert chunks_per_group(n_chunks, keys) == per_group
    assert -(-n_chunks // per_group) <= keys


@pytest.mark.parametrize("with_orphans", [False, True])
def test_spilled_columns_round_trip_through_a_spill(tmp_path: Path, with_orphans: bool) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    households = pa.table({"household_id": [f"H{i:04d}" for i in range(40)]})
    local = rng.integers(0, 40, n).astype(np.int64)
    if with_orphans:
        local[rng.choice(2000, 25, replace=False)] = -1  # later batches hold none
    vocab = pa.array(["referral", "assessment_completed", "s47_started"])
    codes = rng.integers(0, 3, n)
    ids = np.array([f"H{i:04d}" for i in local], dtype=object)
    ids[local < 0] = "H-unknown"
    batch = pa.table(
        {
            "event_id": [f"E{i}" for i in range(n)],
            "household_id": pa.array(ids, type=pa.string()),
            "type": vocab.take(pa.array(codes)),
        }
    )
    encoded = {"type": pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int8()), vocab)}
    files: dict[int, dict[str, list]] = {}
    spill = Spill(tmp_path, "events", 1200, files)
    chunk = np.where(local < 0, 1, 0)  # chunk 0 holds the 40 households, chunk 1 the orphans
    for a in range(0, n, 1000):  # batches of both shapes: with and without the id text
        part = slice(a, a + 1000)
        spill.add(
            spilled_columns(batch.slice(a, 1000), local[part], _encoded_slice(encoded, a)),
            chunk[part],
        )
    spill.flush()
    known = restored_columns(read_pieces(files[0]["events"]), households)
    want = batch.filter(pa.array(local >= 0))
    assert known.schema == batch.schema
    assert known.equals(want.combine_chunks()) or known.to_pandas().equals(want.to_pandas())
    if with_orphans:
        empty = households.schema.empty_table()
        unknown = restored_columns(read_pieces(files[1]["events"]), empty)
        assert unknown.to_pandas().equals(batch.filter(pa.array(local < 0)).to_pandas())
    else:
        assert 1 not in files


def _encoded_slice(encoded: dict[str, pa.Array], a: int) -> dict[str, pa.Array]:
    return {k: v.slice(a, 1000) for k, v in encoded.items()}


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 200_000])
@pytest.mark.parametrize("spread", ["uniform", "clustered"])
def test_sorted_hashes_search_as_numpy_searchsorted(n: int, spread: str) -> None:
    # the oracle: np.searchsorted; clustered hashes fill a few buckets (many halvings), and
    # the queries include every stored hash, its neighbours, repeats and both extremes
    rng = np.random.default_rng(n)
    top = np.iinfo(np.uint64).max
    if spread == "uniform":
        stored = rng.integers(0, top, n, dtype=np.uint64, endpoint=True)
    else:
        stored = rng.integers(0, 1 << 20, n, dtype=np.uint64) * np.uint64(3) + np.uint64(1 << 40)
    stored = np.sort(np.concatenate([stored, stored[: n // 10]]))  # repeated hashes too
    queries = np.concatenate(
        [
            rng.integers(0, top, 5000, dtype=np.uint64, endpoint=True),
            stored,
            stored + np.uint64(1),
            stored - np.uint64(1),
            np.array([0, 1, top - 1, top], dtype=np.uint64),
        ]
    )
    got = SortedHashes(stored).left(queries)
    np.testing.assert_array_equal(got, np.searchsorted(stored, queries, side="left"))


@pytest.mark.parametrize("pieces", [3, 65, 130])
def test_many_pieces_read_back_in_order_as_one_chunk(tmp_path: Path, pieces: int) -> None:
    files: dict[int, dict[str, list[tuple[Path, int, int]]]] = {}
    spill = Spill(tmp_path, "events", 1, files)  # a flush, so a piece, per batch
    rows = np.arange(pieces * 7)
    for part in np.array_split(rows, pieces):
        batch = pa.table({"row": part, "text": [f"e{r}" for r in part]})
        spill.add(batch, np.zeros(len(part), dtype=np.int64))
    assert len(files[0]["events"]) == pieces
    table = read_pieces(files[0]["events"])
    assert table.column("row").to_pylist() == rows.tolist()
    assert table.column("text").to_pylist() == [f"e{r}" for r in rows]
    combined = pieces > spill_mod.COMBINE_PIECES
    assert {c.num_chunks for c in table.columns} == ({1} if combined else {pieces})


def test_string_hash_is_the_same_for_either_offset_width() -> None:
    # the households' ids are kept with 32-bit offsets, a batch's with 64-bit ones: a
    # household must hash alike in both, sliced or not, with missing and empty values
    values = ["H000001-c0", "", None, "H1", "ü-ö", "H000001-c0"] * 50
    wide = pa.array(values, type=pa.large_string())
    narrow = pa.array(values, type=pa.string())
    np.testing.assert_array_equal(string_hash(narrow), string_hash(wide))
    np.testing.assert_array_equal(
        string_hash(narrow.slice(7, 100)), string_hash(wide.slice(7, 100))
    )
    assert string_hash(narrow)[0] == string_hash(narrow)[5] != string_hash(narrow)[3]


def test_a_groups_pieces_come_back_as_each_chunks_rows_in_file_order(tmp_path: Path) -> None:
    """Rows spilled under one group key, ordered by chunk within each batch, are cut back
    into their chunks: each chunk's rows in the order they were added, positions made the
    chunk's; a chunk without rows comes back empty."""
    rng = np.random.default_rng(11)
    n, per_chunk, n_chunks = 3000, 10, 4
    position = rng.integers(0, 3 * per_chunk, n).astype(np.int32)  # no row in the last chunk
    batch = pa.table({"event_id": [f"E{i}" for i in range(n)], "household_position": position})
    files: dict[int, dict[str, list[tuple[Path, int, int]]]] = {}
    spill = Spill(tmp_path, "events", 700, files)  # several flushes: many pieces, many runs
    for a in range(0, n, 250):
        spill.add(batch.slice(a, 250), np.zeros(250, dtype=np.int64), position[a : a + 250] // 10)
    spill.flush()
    assert len(files[0]["events"]) > 3
    got = list(chunks_of_group(decoded_pieces(files[0]["events"]), n_chunks, per_chunk))
    assert len(got) == n_chunks
    for j, rows in enumerate(got):
        mine = position // per_chunk == j
        assert rows.column("event_id").to_pylist() == np.array(batch["event_id"])[mine].tolist()
        want = (position[mine] - j * per_chunk).tolist()
        assert rows.column("household_position").to_pylist() == want
    assert got[-1].num_rows == 0 and got[-1].schema == batch.schema
