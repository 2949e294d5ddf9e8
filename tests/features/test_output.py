"""The feature table's output block: every feature back in the decisions' order, no copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.features.catalogue import feature_names
from secondlook.features.output import Columns, return_free_memory


def _points(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "decision_id": [f"d{i}" for i in range(n)],
            "person_id": [f"p{i}" for i in range(n)],
            "household_id": [f"h{i}" for i in range(n)],
            "decision_date": pd.to_datetime(["2020-01-01"] * n),
            "referral_event_id": [f"e{i}" for i in range(n)],
        }
    )


def test_each_feature_lands_in_the_decisions_order() -> None:
    order = np.array([2, 0, 3, 1], dtype=np.int64)  # sorted point i is decision order[i]
    out = Columns(order)
    names = feature_names()
    for j, name in enumerate(names):
        out[name] = np.arange(4) * 10 + j  # values in the sorted order
    frame = out.frame(_points(4))
    assert list(frame.columns[:5]) == [
        "decision_id",
        "person_id",
        "household_id",
        "decision_date",
        "referral_event_id",
    ]
    assert list(frame.columns[5:]) == names
    for name in names[:3] + names[-2:]:
        k = names.index(name)
        expected = np.empty(4, dtype=np.int64)
        expected[order] = np.arange(4) * 10 + k
        np.testing.assert_array_equal(frame[name].to_numpy(), expected)
    assert (frame[names].dtypes == np.int64).all()
    assert frame["decision_date"].dtype == "datetime64[s]"
    # the features are the block itself, not a copy of it
    assert np.shares_memory(frame[names[0]].to_numpy(), out._block)


def test_booleans_are_written_as_zero_and_one() -> None:
    out = Columns(np.array([1, 0], dtype=np.int64))
    for name in feature_names():
        out[name] = np.array([True, False])
    assert out.frame(_points(2))[feature_names()[0]].tolist() == [0, 1]


def test_a_feature_left_unwritten_is_an_error() -> None:
    out = Columns(np.array([0], dtype=np.int64))
    for name in feature_names()[1:]:
        out[name] = np.array([1])
    with pytest.raises(AssertionError, match=feature_names()[0]):
        out.frame(_points(1))


def test_returning_free_memory_is_harmless() -> None:
    kept = np.arange(1000)
    return_free_memory()
    assert kept.sum() == 999 * 1000 // 2
