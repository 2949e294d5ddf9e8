"""One Arrow array from a column, without a copy when the column already is one."""

from __future__ import annotations

import pyarrow as pa

__all__ = ["one_array"]


def one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``values`` as one array: a column of one chunk gives that chunk as it is.

    ``ChunkedArray.combine_chunks`` copies every buffer even of a single chunk: the household
    lookup held a second copy of the households' ids this way (195 MB in each process at ten
    million referrals), and each batch's columns were copied once more on the way to their
    checks.

    Parameters
    ----------
    values
        An array, or a chunked array of any number of chunks.

    Returns
    -------
    pyarrow.Array
        The same values and type (a chunk may be a slice of a larger buffer).
    """
    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    return values.combine_chunks()
