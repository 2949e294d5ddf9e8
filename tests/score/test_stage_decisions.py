"""A cohort with a decisions table is scored at exactly its decisions in the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secondlook.features import build_features
from secondlook.models import load_model
from secondlook.score import run_score

from .conftest import score_params, write_cohort
from .test_stage_bad_inputs import _refused

Tables = dict[str, pd.DataFrame]
START, END = pd.Timestamp("2020-01-01"), pd.Timestamp("2021-12-31")


def _quiet(_: str) -> None:
    pass


def _decisions(events: pd.DataFrame, step: int = 2) -> pd.DataFrame:
    """Every ``step``-th referral (in any date order) as a decision with its own id."""
    refs = events[events["type"] == "referral"].iloc[::step]
    return pd.DataFrame(
        {
            "decision_id": [f"D{i:06d}" for i in range(len(refs))],
            "person_id": refs["person_id"].to_numpy(),
            "household_id": refs["household_id"].to_numpy(),
            "referral_event_id": refs["event_id"].to_numpy(),
            "decision_date": refs["date"].to_numpy(),
            "practice_outcome": "nfa",
        }
    )


def _score(folder: Path, model_dir: Path, out: Path) -> dict:
    return run_score(
        folder,
        str(model_dir),
        out,
        score_params(),
        start=START.date(),
        end=END.date(),
        log=_quiet,
    )


def test_exactly_the_decisions_in_the_window_are_scored(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    dec = _decisions(t["events"])
    t["decisions"] = dec
    out = tmp_path / "s.parquet"
    doc = _score(write_cohort(t, tmp_path / "c"), model_dir, out)
    got = pd.read_parquet(out).set_index("decision_id")
    inside = dec[(dec["decision_date"] >= START) & (dec["decision_date"] <= END)]
    assert 0 < len(inside) < len(dec)
    assert sorted(got.index) == sorted(inside["decision_id"])
    assert (got["status"] == "scored").all()
    want = inside.set_index("decision_id")["referral_event_id"]
    assert (got["referral_event_id"] == want.loc[got.index]).all()
    # the same probabilities as the feature code path at those decisions
    feats = build_features(t["households"], t["people"], t["events"], decisions=inside)
    model = load_model(model_dir)
    expected = pd.Series(model.probability(feats), index=feats["decision_id"])
    np.testing.assert_allclose(got["probability"], expected.loc[got.index], atol=1e-12)
    c = doc["counts"]
    assert doc["settings"]["decision_points"] == "decisions"
    assert c["decisions"] == len(dec) and c["decisions_in_window"] == len(inside)
    assert c["decisions_before_window"] + c["decisions_in_window"] + c[
        "decisions_after_window"
    ] == len(dec)
    ev = t["events"]
    in_window = (ev["type"] == "referral") & (ev["date"] >= START) & (ev["date"] <= END)
    assert c["referrals_in_window"] == int(in_window.sum())
    named = ev.loc[in_window, "event_id"].isin(dec["referral_event_id"])
    assert c["referrals_in_window_without_decision"] == int((~named).sum()) > 0
    assert set(doc["inputs"]) == {"households", "people", "events", "decisions"}


def test_decisions_that_cannot_be_placed_are_rejected_with_a_reason(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    dec = _decisions(t["events"], step=1)
    inside = dec.index[(dec["decision_date"] >= START) & (dec["decision_date"] <= END)]
    a, b, c, d = inside[:4]
    dec.loc[a, "referral_event_id"] = "E-NOWHERE"
    dec.loc[b, "decision_date"] = dec.loc[b, "decision_date"] + pd.Timedelta(days=1)
    dec.loc[c, "household_id"] = "H-NOWHERE"
    ev = t["events"]
    ev.loc[ev["event_id"] == dec.loc[d, "referral_event_id"], "person_id"] = "P-NOBODY"
    dec.loc[d, "person_id"] = "P-NOBODY"
    t["decisions"] = dec
    out = tmp_path / "s.parquet"
    doc = _score(write_cohort(t, tmp_path / "c"), model_dir, out)
    got = pd.read_parquet(out).set_index("decision_id")
    assert len(got) == len(inside) and got.index.is_unique
    reasons = got["rejection_reason"]
    assert reasons[dec.loc[a, "decision_id"]] == "unknown_referral"
    assert reasons[dec.loc[b, "decision_id"]] == "decision_mismatch"
    assert reasons[dec.loc[c, "decision_id"]] == "unknown_household"
    assert reasons[dec.loc[d, "decision_id"]] == "unknown_person"
    assert doc["counts"]["rejected"] == 4 == int(reasons.notna().sum())
    assert doc["counts"]["scored"] == len(inside) - 4


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda d: d.drop(columns="decision_date"), ["table `decisions`", "`decision_date`"]),
        (
            lambda d: d.assign(decision_id=["D0"] * len(d)),
            ["decisions", "decision_id", "field_uniqueness"],
        ),
        (
            lambda d: d.assign(practice_outcome="maybe"),
            ["decisions", "practice_outcome", "maybe"],
        ),
        (lambda d: d.assign(decision_date=pd.Timestamp("1990-01-01")), ["no decision dated"]),
    ],
)
def test_a_bad_decisions_table_is_refused(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path, edit, expect
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    t["decisions"] = edit(_decisions(t["events"]))
    _refused(write_cohort(t, tmp_path / "c"), model_dir, tmp_path, *expect)


def test_practice_outcome_may_be_left_out(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    """What practice decided is not known when a referral is scored, and never read."""
    t = {k: v.copy() for k, v in cohort_tables.items()}
    t["decisions"] = _decisions(t["events"]).drop(columns="practice_outcome")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _score(write_cohort(t, tmp_path / "c"), model_dir, a)
    t["decisions"] = _decisions(t["events"])
    _score(write_cohort(t, tmp_path / "d"), model_dir, b)
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


def test_decisions_give_the_same_output_in_worker_processes(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    t["decisions"] = _decisions(t["events"])
    folder = write_cohort(t, tmp_path / "c")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _score(folder, model_dir, a)
    run_score(
        folder,
        str(model_dir),
        b,
        score_params(),
        start=START.date(),
        end=END.date(),
        workers=2,
        log=_quiet,
    )
    assert a.read_bytes() == b.read_bytes()
