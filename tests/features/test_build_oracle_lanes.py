"""The fast DuckDB formulation's packed 16-bit lanes: exact up to their limit, an error beyond.

Its agreement with the builder on random and hand-built worlds is in ``test_build_oracle.py``
(the ``oracle`` fixture runs both DuckDB formulations).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from secondlook.features import build_features
from tests.features.conftest import load_benchmark
from tests.features.feature_worlds import World

FAST = load_benchmark("duckdb_fast")


def _crowded(n: int) -> dict[str, pd.DataFrame]:
    """One child with ``n`` school concerns and a referral the week before one decision."""
    w = World()
    w.household("h1")
    w.person("mum", "h1", "mother", birth="1990-01-01")
    w.person("kid", "h1", "child", birth="2015-01-01")
    for _ in range(n):
        w.event("kid", "2020-01-01", "school_concern")
    w.referral("kid", "2020-05-25", "neglect", decision=False)
    w.referral("kid", "2020-06-01", "neglect")
    return w.tables()


def test_a_full_lane_does_not_carry_into_the_next() -> None:
    n = FAST.LIMIT - 3  # with the earlier referral and its outcome: LIMIT - 1 pairs
    t = _crowded(n)
    args = (t["households"], t["people"], t["events"], t["decisions"])
    fast, ours = FAST.duckdb_features(*args), build_features(*args)
    pd.testing.assert_frame_equal(fast, ours, check_dtype=False)
    row = fast.iloc[0]
    assert row["school_concerns_12m"] == n
    assert row["referrals_3m"] == 1 and row["prior_nfa"] == 1 and row["ed_attendances_12m"] == 0


def test_a_decision_with_too_many_earlier_events_is_an_error() -> None:
    t = _crowded(FAST.LIMIT - 2)  # LIMIT pairs
    with pytest.raises(duckdb.Error, match="16-bit"):
        FAST.duckdb_features(t["households"], t["people"], t["events"], t["decisions"])
