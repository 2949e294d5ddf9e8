"""secondlook.score.arrays: one array from a column, with no copy of a single chunk."""

from __future__ import annotations

import pyarrow as pa

from secondlook.score.arrays import one_array


def _data_address(values: pa.Array) -> int:
    return values.buffers()[2].address


def test_a_single_chunk_is_given_as_it_is_and_several_are_combined() -> None:
    ids = pa.array(["h-1", "h-22", None, "h-333"])
    one = one_array(pa.chunked_array([ids]))
    assert _data_address(one) == _data_address(ids)  # the same buffer: no copy
    assert one.equals(ids)
    sliced = one_array(pa.chunked_array([ids.slice(1, 2)]))
    assert sliced.to_pylist() == ["h-22", None]
    several = one_array(pa.chunked_array([ids.slice(0, 1), ids.slice(1)]))
    assert isinstance(several, pa.Array) and several.equals(ids)
    assert one_array(ids) is ids
    empty = one_array(pa.chunked_array([], type=pa.string()))
    assert len(empty) == 0 and empty.type == pa.string()
