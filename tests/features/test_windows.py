"""Packed window counts equal brute-force counts, whatever the lane width and thread count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.features import build_features
from secondlook.features.windows import Counter, PackedCounts


def _brute(
    keys: np.ndarray,
    days: np.ndarray,
    counted: np.ndarray,
    qk: np.ndarray,
    lo: np.ndarray | None,
    hi: np.ndarray,
) -> np.ndarray:
    out = np.zeros(len(qk), dtype=np.int64)
    for i, (k, h) in enumerate(zip(qk, hi, strict=True)):
        ok = counted & (keys == k) & (days < h)
        if lo is not None:
            ok &= days >= lo[i]
        out[i] = int(ok.sum())
    return out


def _world(seed: int, n_events: int, n_keys: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    keys = rng.integers(-1, n_keys, n_events)  # -1: an event without a key
    days = rng.integers(100, 400, n_events)
    codes = rng.integers(0, 6, n_events)
    return keys, days, codes


@pytest.mark.parametrize("seed", [1, 2])
def test_packed_counts_equal_brute_force_counts(seed: int) -> None:
    keys, days, codes = _world(seed, 3000, 40)
    rng = np.random.default_rng(seed + 10)
    where = rng.random(len(keys)) < 0.5
    tables = [np.isin(np.arange(6), c) for c in ([0], [1, 2], [3], [0, 5], [4], [2])]
    # six counters over two windows and "ever": more lanes than one word holds
    counters = [
        Counter("a", tables[0]),
        Counter("b", tables[1]),
        Counter("c", tables[2], where=where),
        Counter("d", tables[3], 1),
        Counter("e", tables[4], 1),
        Counter("f", tables[5], 2),
        Counter("g", tables[1], 2),
        Counter("h", tables[0], 2),
        Counter("i", tables[3], 2),
        Counter("j", tables[4], 2),
    ]
    packed = PackedCounts(keys, days, codes, counters, day0=90, span=330)
    assert packed.bits == 16
    qk = rng.integers(0, 45, 500)  # some keys have no events at all
    hi = rng.integers(95, 410, 500)
    lows = {1: hi - rng.integers(0, 120, 500), 2: hi - 30}
    got = packed.counts(qk, hi, lows)
    for c in counters:
        counted = c.codes[codes] & (True if c.where is None else c.where)
        lo = None if c.window is None else lows[c.window]
        expected = _brute(keys, days, counted, qk, lo, hi)
        np.testing.assert_array_equal(got[c.name], expected, err_msg=c.name)
    assert (got["a"] > 0).mean() > 0.5  # not vacuous


def test_a_key_with_more_events_than_a_16_bit_lane_holds_widens_the_lanes() -> None:
    n = 2**16 + 5  # one key, every event counted by both counters of one word
    keys = np.zeros(n, dtype=np.int64)
    days = np.repeat(np.arange(10, 20), -(-n // 10))[:n]
    codes = np.zeros(n, dtype=np.int64)
    counters = [Counter("all", np.array([True])), Counter("again", np.array([True]))]
    packed = PackedCounts(keys, days, codes, counters, day0=0, span=40)
    assert packed.bits == 32
    got = packed.counts(np.array([0, 0, 1]), np.array([30, 15, 30]), {})
    expected = [n, int((days < 15).sum()), 0]
    np.testing.assert_array_equal(got["all"], expected)
    np.testing.assert_array_equal(got["again"], expected)


def test_latest_flagged_event_before_each_query() -> None:
    keys, days, codes = _world(3, 2000, 30)
    counters = [Counter("any", np.ones(6, dtype=bool))]
    packed = PackedCounts(keys, days, codes, counters, day0=90, span=330)
    flag = codes == 2
    qk = np.arange(30).repeat(8)
    hi = np.tile(np.linspace(95, 405, 8).astype(np.int64), 30)
    got = packed.last_before(qk, flag, packed.position(qk, hi), np.int64(-1))
    for k, h, g in zip(qk, hi, got, strict=True):
        ok = flag & (keys == k) & (days < h)
        assert g == (days[ok].max() if ok.any() else -1)


def test_thread_count_does_not_change_the_features(
    small_world: dict[str, pd.DataFrame],
) -> None:
    w = small_world
    args = (w["households"], w["people"], w["events"], w["decisions"])
    one = build_features(*args, threads=1)
    three = build_features(*args, threads=3)
    pd.testing.assert_frame_equal(one, three, check_exact=True)


def test_threads_below_one_are_refused(small_world: dict[str, pd.DataFrame]) -> None:
    w = small_world
    with pytest.raises(ValueError, match="threads must be at least 1"):
        build_features(w["households"], w["people"], w["events"], w["decisions"], threads=0)
