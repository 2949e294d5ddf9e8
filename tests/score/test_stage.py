"""End-to-end scoring: nothing lost, the same answer as the feature code path, chunk size and
engine make no difference, atomic writes, a deterministic output and manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secondlook.features import build_features
from secondlook.models import load_model
from secondlook.score import REJECTION_REASONS, manifest_path, run_score
from secondlook.score import runners as engine_mod  # where the engines call score_chunk

from .conftest import score_params, write_cohort


def _quiet(_: str) -> None:
    pass


def test_every_referral_scored_as_the_feature_code_path_would(
    cohort_dir: Path, cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "scores.parquet"
    doc = run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    got = pd.read_parquet(out)
    t = cohort_tables
    start = pd.Timestamp(score_params().start)
    feats = build_features(t["households"], t["people"], t["events"], start=start)
    assert len(got) == len(feats) == doc["counts"]["referrals_in_window"]
    assert got["decision_id"].is_unique
    assert set(got["decision_id"]) == set(feats["decision_id"])
    assert (got["status"] == "scored").all()
    model = load_model(model_dir)
    expected = pd.Series(model.probability(feats), index=feats["decision_id"])
    np.testing.assert_allclose(
        got.set_index("decision_id")["probability"], expected.loc[got["decision_id"]], atol=1e-12
    )
    flags = pd.Series(model.flag(feats), index=feats["decision_id"])
    assert (got.set_index("decision_id")["flag"] == flags.loc[got["decision_id"]]).all()
    assert got["reason_1_sentence"].notna().all()
    assert (got["model_sha256"] == doc["model"]["sha256"]).all()
    assert doc["counts"]["scored"] == len(got) and doc["counts"]["rejected"] == 0


def test_chunk_size_does_not_change_the_output(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    run_score(cohort_dir, str(model_dir), a, score_params(chunk_households=17), log=_quiet)
    run_score(cohort_dir, str(model_dir), b, score_params(chunk_households=10_000), log=_quiet)
    key = ["decision_id"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(a).sort_values(key).reset_index(drop=True),
        pd.read_parquet(b).sort_values(key).reset_index(drop=True),
    )


def test_nothing_lost_broken_referrals_are_rejected_with_a_reason(
    cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    refs = ev.index[(ev["type"] == "referral") & (ev["date"] >= pd.Timestamp("2020-01-01"))]
    unknown, early = refs[0], refs[1]
    ev.loc[unknown, "person_id"] = "P-NOBODY"
    person = ev.loc[early, "person_id"]
    birth = t["people"].set_index("person_id").loc[person, "birth_month"]
    ev.loc[early, "date"] = birth - pd.DateOffset(years=2)
    ev.loc[early, "date"] = max(ev.loc[early, "date"], pd.Timestamp("2016-01-01"))
    folder = write_cohort(t, tmp_path / "cohort")
    out = tmp_path / "scores.parquet"
    doc = run_score(folder, str(model_dir), out, score_params(start=None), log=_quiet)
    got = pd.read_parquet(out).set_index("decision_id")
    n_refs = int((ev["type"] == "referral").sum())
    assert len(got) == n_refs and got.index.is_unique  # every referral exactly once
    unknown_id, early_id = ev.loc[unknown, "event_id"], ev.loc[early, "event_id"]
    assert got.loc[unknown_id, "rejection_reason"] == "unknown_person"
    if ev.loc[early, "date"] < birth - pd.DateOffset(months=10):
        assert got.loc[early_id, "rejection_reason"] == "before_birth"
    rejected = got[got["status"] == "rejected"]
    assert rejected["probability"].isna().all() and rejected["flag"].isna().all()
    assert set(rejected["rejection_reason"]) <= set(REJECTION_REASONS)
    assert doc["counts"]["rejected"] == len(rejected)
    assert doc["counts"]["scored"] + doc["counts"]["rejected"] == n_refs


def test_the_window_selects_referrals(cohort_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    import datetime as dt

    out = tmp_path / "w.parquet"
    run_score(
        cohort_dir,
        str(model_dir),
        out,
        score_params(),
        start=dt.date(2020, 1, 1),
        end=dt.date(2020, 12, 31),
        log=_quiet,
    )
    dates = pd.read_parquet(out)["referral_date"]
    assert len(dates) and dates.min() >= pd.Timestamp("2020-01-01")
    assert dates.max() <= pd.Timestamp("2020-12-31")


def test_csv_cohort_gives_the_same_output(
    cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    pq_dir = write_cohort(cohort_tables, tmp_path / "pq")
    csv_dir = write_cohort(cohort_tables, tmp_path / "csv", fmt="csv")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    run_score(pq_dir, str(model_dir), a, score_params(), log=_quiet)
    run_score(csv_dir, str(model_dir), b, score_params(), log=_quiet)
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


def test_rerun_is_byte_identical_and_manifest_differs_only_under_run(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s.parquet"
    run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    first, m1 = out.read_bytes(), json.loads(manifest_path(out).read_text())
    run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    second, m2 = out.read_bytes(), json.loads(manifest_path(out).read_text())
    assert first == second
    assert {k: v for k, v in m1.items() if k != "run"} == {
        k: v for k, v in m2.items() if k != "run"
    }
    assert m1["run"]["seconds"] >= 0 and "git_commit" in m1["run"]["code"]
    assert set(m1["inputs"]) == {"households", "people", "events"}
    for name, entry in m1["inputs"].items():  # hashed in a thread beside the partition
        assert entry["path"] == str(cohort_dir / f"{name}.parquet")
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()


def test_interrupted_run_leaves_no_partial_file(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "out"
    out = out_dir / "s.parquet"
    real = engine_mod.score_chunk
    calls = {"n": 0}

    def dies_on_third(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # an interruption, not an error
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_mod, "score_chunk", dies_on_third)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(KeyboardInterrupt):
        run_score(cohort_dir, str(model_dir), out, score_params(), tmp_root=work, log=_quiet)
    assert calls["n"] == 3
    assert not out.exists() and not manifest_path(out).exists()
    assert list(out_dir.iterdir()) == [] and list(work.iterdir()) == []


def test_interrupted_rerun_keeps_the_previous_output(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "s.parquet"
    run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    before = out.read_bytes()

    def boom(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_mod, "score_chunk", boom)
    with pytest.raises(KeyboardInterrupt):
        run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["cohort", "models", "s.parquet", "s.manifest.json"]
    )


def test_output_and_manifest_get_the_usual_file_mode(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    """Both files read like any file the user writes: 0o666 less the umask (not mkstemp's 0600,
    not a fixed 0644)."""
    import os
    import stat

    out = tmp_path / "out" / "s.parquet"
    old = os.umask(0o002)
    try:
        run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o664
    assert stat.S_IMODE(manifest_path(out).stat().st_mode) == 0o664


def test_every_referral_of_the_cohort_is_accounted_for_in_the_manifest(
    cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    """Referrals outside the window -- broken ones too -- are counted, not silently dropped."""
    import datetime as dt

    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    start, end = pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31")
    refs = ev["type"] == "referral"
    before = ev.index[refs & (ev["date"] < start)]
    inside = ev.index[refs & (ev["date"] >= start) & (ev["date"] <= end)]
    after = ev.index[refs & (ev["date"] > end)]
    assert len(before) > 2 and len(inside) > 1 and len(after) > 1
    # broken referrals on both sides of the window and inside it
    ev.loc[before[0], "person_id"] = "P-NOBODY"
    ev.loc[before[1], "household_id"] = "H-NOWHERE"
    ev.loc[after[0], "person_id"] = "P-NOBODY-EITHER"
    ev.loc[inside[0], "person_id"] = "P-NOBODY-HERE"
    folder = write_cohort(t, tmp_path / "cohort")
    out = tmp_path / "scores.parquet"
    doc = run_score(
        folder,
        str(model_dir),
        out,
        score_params(),
        start=dt.date(2020, 1, 1),
        end=dt.date(2020, 12, 31),
        log=_quiet,
    )
    c = doc["counts"]
    assert c["referrals"] == int(refs.sum())
    assert c["referrals_before_window"] == len(before)
    assert c["referrals_after_window"] == len(after)
    assert c["referrals_in_window"] == len(inside) == len(pd.read_parquet(out))
    assert (
        c["referrals_before_window"] + c["referrals_in_window"] + c["referrals_after_window"]
        == c["referrals"]
    )
    assert c["scored"] + c["rejected"] == c["referrals_in_window"]
    assert c["rejected_by_reason"] == {"unknown_person": 1}
    assert c["out_of_window_rejected"] == 3
    assert c["out_of_window_rejected_by_reason"] == {
        "unknown_household": 1,
        "unknown_person": 2,
    }


def test_the_work_folder_is_removed_once_what_the_run_started_is_closed(tmp_path: Path) -> None:
    """A LocalCluster keeps its scratch files in the work folder, and its worker may still be
    writing a group's output (``score_files_to``) when the run ends: the folder is removed only
    once everything the run started is closed, and also when closing fails."""
    from secondlook.score.stage import _clean_up

    work = tmp_path / "secondlook-score-x"
    (work / "dask").mkdir(parents=True)
    seen = []

    class LateWriter:
        def close(self) -> None:
            seen.append((work / "dask").is_dir())  # its scratch files still there
            (work / "scored").mkdir(parents=True, exist_ok=True)
            (work / "scored" / "00003.arrow").write_bytes(b"late")

    out = tmp_path / ".scores.parquet.abc.tmp"
    out.write_bytes(b"partial")
    _clean_up([LateWriter()], work, out)
    assert seen == [True]
    assert not work.exists() and not out.exists()

    class Broken:
        def close(self) -> None:
            raise RuntimeError("the cluster would not close")

    (work / "dask").mkdir(parents=True)
    out.write_bytes(b"partial")
    with pytest.raises(RuntimeError):
        _clean_up([Broken()], work, out)
    assert not work.exists() and not out.exists()
