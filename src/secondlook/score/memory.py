"""Memory the scoring processes hand back: the allocator Arrow uses while a cohort is scored."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pyarrow as pa

__all__ = ["lean_memory_pool", "use_jemalloc"]


def use_jemalloc() -> None:
    """Make Arrow allocate from its jemalloc pool (in this process, from now on).

    Arrow's default pool in its Linux wheels is mimalloc, which keeps what a chunk freed for
    the next one. jemalloc hands it back (its dirty pages decay at once by Arrow's default):
    scoring the first 100 chunks of ten million referrals (two processes), the larger
    process peaked at 1,030-1,045 MB against 1,156-1,236 MB with mimalloc, the other at
    754-781 MB against 833-876 MB, in the same time (25.7-28.0 s against 26.3-26.8 s).
    Where Arrow was built without jemalloc the pool is left as it is.
    """
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


@contextlib.contextmanager
def lean_memory_pool() -> Iterator[None]:
    """:func:`use_jemalloc` while the block runs; the previous pool afterwards (buffers keep
    the pool they came from, so either frees its own)."""
    previous = pa.default_memory_pool()
    use_jemalloc()
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
