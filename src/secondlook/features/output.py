"""The feature table's output block, and giving scratch memory back before it is allocated."""

from __future__ import annotations

import ctypes

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.features.catalogue import feature_names

__all__ = ["Columns", "return_free_memory"]

Ints = npt.NDArray[np.int64]


class Columns:
    """The output features: one contiguous row per feature, in the decisions' own order.

    Each feature is written as soon as it is computed (``columns[name] = values``, values in
    the points' sorted order), so the builder never holds a second copy of the whole table.

    Parameters
    ----------
    order
        Shape (n,): ``order[i]`` is the decisions-order row of the i-th sorted point.
    """

    def __init__(self, order: Ints) -> None:
        self.names = feature_names()
        self._row = {name: i for i, name in enumerate(self.names)}
        n = len(order)
        self._back = np.empty(n, dtype=np.int64)
        self._back[order] = np.arange(n, dtype=np.int64)
        self._block = np.empty((len(self.names), n), dtype=np.int64)
        self._written: set[str] = set()

    def __setitem__(self, name: str, values: npt.ArrayLike) -> None:
        row = self._block[self._row[name]]
        np.take(np.asarray(values, dtype=np.int64), self._back, out=row, mode="clip")
        self._written.add(name)

    def frame(self, points: pd.DataFrame) -> pd.DataFrame:
        """The id columns of ``points`` then every feature (the block itself, not a copy)."""
        missing = set(self.names) - self._written
        assert not missing, sorted(missing)
        features = pd.DataFrame(self._block.T, columns=self.names, copy=False)
        ids = points.reset_index(drop=True).copy()
        ids["decision_date"] = ids["decision_date"].astype("datetime64[s]")
        return pd.concat([ids, features], axis=1)


def return_free_memory() -> None:
    """Give the C heap's free pages back to the operating system (glibc's ``malloc_trim``).

    glibc keeps freed blocks below its (self-raising) mmap threshold in the heap, so the
    scratch of the parts (8 MB arrays per million events) would stay in the process's resident
    memory under the output allocated next; trimming once keeps the peak at the larger of the
    two rather than their sum (the remedy dask's documentation gives for the same effect). A
    no-op where the C library has no ``malloc_trim`` (macOS, musl).
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    trim(0)
