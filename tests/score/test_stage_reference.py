"""secondlook.score.stage: a score's reasons are measured against what the case review packs use
(``explain.reference``): the clean-record reference stored with the model by default, the
training mean on request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secondlook.errors import ModelFileError, ParamsError
from secondlook.explain import explain_model, top_reasons
from secondlook.explain.scoring import METADATA_KEY, saved_reference
from secondlook.features import build_features
from secondlook.models import load_metadata, load_model
from secondlook.score import ModelLoadError, run_score

from .conftest import score_params


def _quiet(_: str) -> None:
    pass


def _reasons_by_decision(frame: pd.DataFrame, k: int) -> dict[str, list[str]]:
    cols = [f"reason_{i}_feature" for i in range(1, k + 1)]
    return {
        str(d): [f for f in row if isinstance(f, str)]
        for d, row in zip(frame["decision_id"], frame[cols].to_numpy(), strict=True)
    }


def test_reasons_are_measured_against_the_setting(
    cohort_dir: Path, cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    k = score_params().top_k
    model = load_model(model_dir)
    stored = load_metadata(model_dir)[METADATA_KEY]
    reference = pd.Series({c: stored[c] for c in model.inputs}, dtype=np.float64)
    t = cohort_tables
    feats = build_features(
        t["households"], t["people"], t["events"], start=pd.Timestamp(score_params().start)
    )
    ids = feats["decision_id"].astype(str).to_numpy()
    # what a case review pack says: top_reasons of the explanation against the same reference
    packs = {
        name: dict(
            zip(
                ids,
                [
                    [r["feature"] for r in rs]
                    for rs in top_reasons(explain_model(model, feats, **kw), k)
                ],
                strict=True,
            )
        )
        for name, kw in (("clean_record", {"reference": reference}), ("mean", {}))
    }
    assert packs["clean_record"] != packs["mean"]  # the two references tell different reasons
    for name in ("clean_record", "mean"):
        out = tmp_path / f"{name}.parquet"
        doc = run_score(cohort_dir, str(model_dir), out, score_params(), reference=name, log=_quiet)
        got = pd.read_parquet(out)
        assert (got["status"] == "scored").all()
        assert _reasons_by_decision(got, k) == {d: packs[name][d] for d in got["decision_id"]}
        assert doc["settings"]["reasons_measured_against"] == name
    # the default is the clean record
    out = tmp_path / "default.parquet"
    run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out), pd.read_parquet(tmp_path / "clean_record.parquet")
    )
    # each reason's contribution is the exact baseline Shapley value of its feature
    got = pd.read_parquet(tmp_path / "clean_record.parquet").set_index("decision_id")
    expl = explain_model(model, feats, reference=reference)
    column = {name: j for j, name in enumerate(expl.feature_names)}
    row = {d: i for i, d in enumerate(ids)}
    feature = got.loc[ids, "reason_1_feature"].to_numpy()
    want = [expl.values[row[d], column[f]] for d, f in zip(ids, feature, strict=True)]
    np.testing.assert_allclose(got.loc[ids, "reason_1_contribution"], want, rtol=0, atol=1e-12)


def test_a_model_without_a_stored_reference_is_refused_by_name(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    meta_file = model_dir / "metadata.json"
    meta = json.loads(meta_file.read_text())
    del meta[METADATA_KEY]
    meta_file.write_text(json.dumps(meta))
    out = tmp_path / "scores.parquet"
    with pytest.raises(
        ModelLoadError, match=f"stores no `{METADATA_KEY}`.*explain.reference: mean"
    ):
        run_score(cohort_dir, str(model_dir), out, score_params(), log=_quiet)
    assert not out.exists()  # nothing half-written
    doc = run_score(cohort_dir, str(model_dir), out, score_params(), reference="mean", log=_quiet)
    assert doc["settings"]["reasons_measured_against"] == "mean"
    # without reasons no reference is needed at all
    run_score(
        cohort_dir,
        str(model_dir),
        tmp_path / "b.parquet",
        score_params(),
        reasons=False,
        log=_quiet,
    )


def test_saved_reference_checks_its_input() -> None:
    meta = {METADATA_KEY: {"a": 0.0, "b": 2.0, "c": 9999.0}}
    ref = saved_reference(meta, ["c", "a"])
    assert ref is not None and list(ref.index) == ["c", "a"] and ref.tolist() == [9999.0, 0.0]
    assert saved_reference({}, ["a"], "mean") is None
    with pytest.raises(ModelFileError, match="lacks input.*d"):
        saved_reference(meta, ["a", "d"], source="model m")
    with pytest.raises(ParamsError, match="explain.reference"):
        saved_reference(meta, ["a"], "median")


def test_a_reason_against_guidance_is_marked_as_the_packs_mark_it(
    cohort_dir: Path, cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    from secondlook.explain.reasons import against_guidance
    from secondlook.features.catalogue import directions
    from secondlook.models import save_model

    k = score_params().top_k
    # plant a model that counts a raise-only feature (earlier referrals) as lowering the score
    planted = "referrals_12m"
    assert directions([planted])[planted] == 1
    model = load_model(model_dir)
    meta = load_metadata(model_dir)
    lr = model.family.pipeline_.named_steps["logreg"]  # type: ignore[attr-defined]
    lr.coef_[0, model.inputs.index(planted)] = -8.0
    folder = save_model(model, tmp_path / "planted" / "logreg", meta)
    out = tmp_path / "planted.parquet"
    run_score(cohort_dir, str(folder), out, score_params(), log=_quiet)
    got = pd.read_parquet(out)
    marks = [f"reason_{i}_against_guidance" for i in range(1, k + 1)]
    assert all(str(got[c].dtype) == "boolean" for c in marks)
    first = got[got["reason_1_feature"] == planted]
    assert len(first) > 0  # the planted feature leads where the child has earlier referrals
    assert first["reason_1_sentence"].str.endswith("lowers the score").all()
    assert first["reason_1_against_guidance"].eq(True).all()
    # every mark is the packs' own: against_guidance of the same reason against the same record
    stored = meta[METADATA_KEY]
    reference = pd.Series({c: stored[c] for c in model.inputs}, dtype=np.float64)
    t = cohort_tables
    feats = build_features(
        t["households"], t["people"], t["events"], start=pd.Timestamp(score_params().start)
    )
    packs = {
        str(d): [
            against_guidance(r["feature"], r["contribution"], r["value"], reference[r["feature"]])
            is not None
            for r in rs
        ]
        for d, rs in zip(
            feats["decision_id"],
            top_reasons(explain_model(model, feats, reference=reference), k),
            strict=True,
        )
    }
    assert sum(map(sum, packs.values())) > 0
    for d, row in zip(got["decision_id"], got[marks].to_numpy(), strict=True):
        assert [bool(m) for m in row if not pd.isna(m)] == packs[str(d)]
    # a row without a reason at a rank has no mark there
    for i in range(1, k + 1):
        none = got[f"reason_{i}_feature"].isna()
        assert got.loc[none, f"reason_{i}_against_guidance"].isna().all()
    # against the training mean scoring cannot compare a value with it: the mark is unknown
    run_score(
        cohort_dir,
        str(folder),
        tmp_path / "mean.parquet",
        score_params(),
        reference="mean",
        log=_quiet,
    )
    mean = pd.read_parquet(tmp_path / "mean.parquet")
    assert mean[marks].isna().all().all()
