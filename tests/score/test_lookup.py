"""secondlook.score.lookup: each row's household rank, against pyarrow's ``index_in``.

The lookup holds two 64-bit hashes of each household id, not the ids: a first-hash collision
between an unknown id and a household is planted, and must not route the row there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from secondlook.score import lookup as lookup_mod
from secondlook.score.lookup import HouseholdLookup, string_hash

HOUSEHOLDS = pa.array(sorted(f"hh-{i:06d}" for i in range(3000)))


def _oracle(ids: pa.Array) -> list[int]:
    return pc.index_in(ids, value_set=HOUSEHOLDS).fill_null(-1).to_pylist()  # type: ignore[no-any-return]


def _probe() -> pa.Array:
    rng = np.random.default_rng(3)
    known = HOUSEHOLDS.take(pa.array(rng.integers(0, len(HOUSEHOLDS), 5000)))
    unknown = [f"hh-{i:06d}" for i in range(3000, 3100)] + ["", "x-000005", "hh-00000"]
    values = known.to_pylist() + unknown + [None] * 7
    return pa.array([values[i] for i in rng.permutation(len(values))], type=pa.large_string())


def test_each_id_gets_its_households_rank_or_minus_one(tmp_path: Path) -> None:
    lookup = HouseholdLookup(pa.chunked_array([HOUSEHOLDS]))
    assert lookup.n == 3000 and lookup.hh_ids is None  # hashes only
    probe = _probe()
    assert lookup.ranks(probe).tolist() == _oracle(probe)
    # a slice of a chunked column, and 32-bit offsets, look up alike
    sliced = pa.chunked_array([probe.slice(17, 900).cast(pa.string())])
    assert lookup.ranks(sliced).tolist() == _oracle(probe.slice(17, 900))
    # written for the worker process and read back: the same ranks, no ids in the file
    lookup.write(tmp_path / "lookup.arrow")
    again = HouseholdLookup.read(tmp_path / "lookup.arrow")
    assert again.n == 3000 and again.hh_ids is None and again.unique
    assert again.ranks(probe).tolist() == _oracle(probe)
    np.testing.assert_array_equal(again.second, lookup.second)
    np.testing.assert_array_equal(again.order, lookup.order)


def test_no_households_means_no_rank(tmp_path: Path) -> None:
    lookup = HouseholdLookup(pa.array([], type=pa.string()))
    assert lookup.ranks(pa.array(["hh-1", None])).tolist() == [-1, -1]
    lookup.write(tmp_path / "empty.arrow")
    assert HouseholdLookup.read(tmp_path / "empty.arrow").ranks(pa.array(["a"])).tolist() == [-1]


def test_an_unknown_id_sharing_a_households_first_hash_is_not_routed_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = lookup_mod.string_hash

    def planted(values: pa.Array, *, second: bool = False) -> np.ndarray:
        # the first hash of "x-NNNNNN" is that of "hh-NNNNNN"; the second hash is the real one
        if not second:
            values = pc.replace_substring_regex(values, pattern="^x-", replacement="hh-")
        return real(values, second=second)

    monkeypatch.setattr(lookup_mod, "string_hash", planted)
    lookup = HouseholdLookup(HOUSEHOLDS)
    impostors = pa.array(["x-000005", "hh-000005", "x-002999", "hh-002999"])
    first = planted(impostors)
    assert first[0] == first[1] and first[2] == first[3]  # the collision is planted
    assert lookup.ranks(impostors).tolist() == [-1, 5, -1, 2999]


def test_households_sharing_a_first_hash_are_looked_up_on_their_ids(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = lookup_mod.string_hash

    def few(values: pa.Array, *, second: bool = False) -> np.ndarray:
        hashes = real(values, second=second)
        return hashes if second else hashes % np.uint64(64)  # 3,000 households in 64 values

    monkeypatch.setattr(lookup_mod, "string_hash", few)
    lookup = HouseholdLookup(HOUSEHOLDS)
    assert not lookup.unique and lookup.hh_ids is not None
    probe = _probe()
    assert lookup.ranks(probe).tolist() == _oracle(probe)
    lookup.write(tmp_path / "lookup.arrow")  # the ids travel with the hashes
    again = HouseholdLookup.read(tmp_path / "lookup.arrow")
    assert again.hh_ids is not None and again.hh_ids.equals(HOUSEHOLDS)
    assert again.ranks(probe).tolist() == _oracle(probe)


def test_the_two_hashes_are_independent_of_each_other() -> None:
    ids = pa.array([f"H{i:07d}-c{i % 3}" for i in range(200_000)])
    first, second = string_hash(ids), string_hash(ids, second=True)
    assert len(np.unique(first)) == len(np.unique(second)) == len(ids)
    assert not np.any(first == second)
    # each bit of the second hash is near even within the ids of any one first-hash bucket
    bucket = first >> np.uint64(62)
    for b in range(4):
        bits = (second[bucket == b, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
        assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.01)
