"""The evaluate stage end to end on a tiny world (tracking off)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secondlook.evaluate import evaluate_models, leaderboard_markdown, run_evaluate
from secondlook.models import CalibratedModel, make_family, save_model
from secondlook.params import EvaluateParams, load_params, load_section

LABEL = "label_warrants_escalation"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eval_cfg() -> EvaluateParams:
    cfg = load_section("evaluate", load_params(REPO / "params.yaml"))
    return dataclasses.replace(cfg, n_boot=200)


@pytest.fixture(scope="module")
def models(world, inputs, cfg):
    train, valid = world["train"], world["valid"]
    out = {}
    for name in cfg.families:
        fam = make_family(name, cfg).fit(train[inputs], train[LABEL].to_numpy())
        out[name] = CalibratedModel(fam, capacity=cfg.capacity).fit(valid, valid[LABEL])
    return out


@pytest.fixture(scope="module")
def evaluation(models, world, eval_cfg):
    return evaluate_models(
        models,
        world["test"],
        eval_cfg,
        train_label="warrants_escalation",
        seed_prefixes=("sarah-", "john-"),
    )


def test_metrics_cover_every_family_and_label(evaluation, models):
    m = evaluation.metrics
    assert set(m["families"]) == set(models)
    assert set(m["by_label"]) == {
        "warrants_escalation",
        "harm_12m_no_action",
        "harm_12m_observed",
        "cp_plan_12m",
        "rereferral_12m",
        "removal_12m",
    }
    for fam, row in m["families"].items():
        for k in ("auroc", "auprc", "brier", "log_loss", "ece", "precision", "recall", "flag_rate"):
            assert row[f"{k}_lo"] <= row[k] <= row[f"{k}_hi"], (fam, k)
    json.dumps(m, allow_nan=False)  # DVC metrics must be strict JSON


def test_leaderboard_is_sorted_and_prices_interpretability(evaluation, eval_cfg):
    board = evaluation.leaderboard
    key = eval_cfg.select_by
    assert list(board[key]) == sorted(board[key], reverse=True)
    gbm = board.set_index("family").loc["gbm"]
    assert gbm[f"price_{key}"] == 0
    best = evaluation.best_interpretable
    interpretable = board[board["interpretable"]].set_index("family")[key]
    assert set(interpretable.index) == {"rules", "logreg", "tree", "ebm"}
    assert best == interpretable.idxmax()  # the best of them by evaluate.select_by, not gbm
    price = evaluation.metrics["price_of_interpretability"]
    assert price["family"] == best
    assert price["lo"] <= price["gbm_minus_family"] <= price["hi"]
    md = leaderboard_markdown(evaluation, eval_cfg)
    for fam in board["family"]:
        assert f"| {fam} |" in md
    assert "price of interpretability" in md.lower()


def test_practice_comparison_and_seed_cases(evaluation, world, models):
    p = evaluation.practice.set_index("who")
    test = world["test"]
    escalated = test["practice_outcome"] == "s47"
    assert p.loc["practice", "caught"] == int((escalated & test[LABEL]).sum())
    assert set(p.index) == {"practice", *models}
    # each family escalates its own top k by margin (ties at the k-th margin broken at random)
    y, k = test[LABEL].to_numpy(bool), int(escalated.sum())
    for fam, model in models.items():
        margin = model.decision_function(test)
        kth = np.sort(margin)[::-1][k - 1]
        above, at = margin > kth, margin == kth
        need = k - int(above.sum())
        sure = int((y & above).sum())
        lo = sure + max(0, need - int((~y & at).sum()))
        hi = sure + min(need, int((y & at).sum()))
        assert p.loc[fam, "escalations"] == k
        assert lo <= p.loc[fam, "caught"] <= hi, fam
    seeds = evaluation.seed_cases.set_index("decision_id")
    assert set(seeds.index) == {"sarah-r01", "john-r01"}
    rows = test.set_index("decision_id").loc[seeds.index].reset_index()
    for fam, model in models.items():
        np.testing.assert_allclose(seeds[f"{fam}_score"], model.probability(rows), rtol=0, atol=0)
        assert (seeds[f"{fam}_flag"].to_numpy() == model.flag(rows)).all()


def test_flags_at_the_cut_match_the_model(evaluation, models, world):
    test = world["test"]
    for fam, model in models.items():
        assert evaluation.metrics["families"][fam]["flag_rate"] == pytest.approx(
            model.flag(test).mean()
        )


def test_run_evaluate_writes_every_output(tmp_path, models, world, eval_cfg, cfg):
    for name, model in models.items():
        save_model(model, tmp_path / "models" / name, {"family": name, "fit_seconds": 0.5})
    world["test"].to_parquet(tmp_path / "test.parquet")
    r = tmp_path / "reports"
    ev = run_evaluate(
        eval_cfg,
        cfg,
        tmp_path / "models",
        tmp_path / "test.parquet",
        metrics_path=r / "metrics.json",
        leaderboard_md=r / "leaderboard.md",
        leaderboard_csv=r / "leaderboard.csv",
        by_label_csv=r / "metrics-by-label.csv",
        practice_csv=r / "practice-comparison.csv",
        seed_cases_csv=r / "seed-cases.csv",
        plots_dir=r / "plots",
        track=False,
        log=lambda _: None,
    )
    saved = json.loads((r / "metrics.json").read_text())
    assert saved["best_interpretable"] == ev.best_interpretable
    assert len(saved["test_sha256"]) == 64
    assert len(pd.read_csv(r / "leaderboard.csv")) == len(models)
    by_label = pd.read_csv(r / "metrics-by-label.csv")
    assert len(by_label) == len(models) * 6 * 8
    for kind, cols in {
        "roc": ["fpr", "tpr"],
        "pr": ["recall", "precision"],
        "calibration": ["mean_predicted", "observed_rate"],
    }.items():
        for name in models:
            frame = pd.read_csv(r / "plots" / kind / f"{name}.csv")
            assert set(cols) <= set(frame.columns) and len(frame) > 1
            assert np.isfinite(frame[cols].to_numpy()).all()


def test_missing_headline_label_is_named(models, world, eval_cfg):
    test = world["test"].drop(columns=[LABEL])
    with pytest.raises(ValueError, match=LABEL):
        evaluate_models(models, test, eval_cfg, train_label="warrants_escalation")


def test_calibration_frame_carries_the_interval_per_bin() -> None:
    from secondlook.evaluate.curves import calibration_frame

    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.9, 400)
    y = rng.random(400) < p
    low, high = p - 0.02, p + 0.03
    frame = calibration_frame(y, p, 5, low, high)
    assert list(frame.columns) == [
        "bin", "mean_predicted", "observed_rate", "count", "mean_low", "mean_high"
    ]  # fmt: skip
    np.testing.assert_allclose(frame["mean_low"], frame["mean_predicted"] - 0.02, atol=1e-12)
    np.testing.assert_allclose(frame["mean_high"], frame["mean_predicted"] + 0.03, atol=1e-12)
    # no interval (isotonic, sigmoid give NaN): the columns are left out
    nan = np.full(400, np.nan)
    assert "mean_low" not in calibration_frame(y, p, 5, nan, nan).columns
