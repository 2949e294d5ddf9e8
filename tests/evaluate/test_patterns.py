"""Pattern metrics: recall at marked decisions, reasons naming the pattern, control flag rates."""

from __future__ import annotations

import numpy as np
import pytest

from secondlook.evaluate.patterns import _share_ci, headline, pattern_metrics
from secondlook.features import build_features, model_inputs
from secondlook.models import CalibratedModel, make_family
from secondlook.synth.patterns import pattern_tables

from ..models.conftest import fast_train_params


@pytest.fixture(scope="module")
def pattern_world(synth_params):
    tables = pattern_tables(8, seed=3, params=synth_params)
    f = build_features(
        tables["households"], tables["people"], tables["events"], tables["decisions"]
    )
    return tables, f


def test_share_interval_resamples_variants():
    values = np.array([1, 1, 0, 0, 1, 1], dtype=bool)
    groups = np.array(["a", "a", "b", "b", "c", "c"])
    out = _share_ci(values, groups, 500, 0, 0.95)
    assert out["value"] == pytest.approx(4 / 6) and out["n"] == 6
    assert out["lo"] == 0.0 and out["hi"] == 1.0  # a whole variant in or out at once
    constant = _share_ci(np.ones(4, dtype=bool), np.array(list("abcd")), 100, 0, 0.95)
    assert constant["lo"] == constant["hi"] == 1.0
    assert _share_ci(values, groups, 500, 0, 0.95) == out  # a seed, the same interval


def test_share_interval_weights_variants_by_their_size():
    # the oracle: the bootstrap of the pooled share, by resampling whole variants with the
    # package's weights, computed the slow way (rows repeated by their variant's draw count)
    from secondlook.evaluate.resample import bootstrap_weights

    values = np.array([1, 0, 0, 1, 1, 1, 0], dtype=bool)
    groups = np.array(["a", "a", "a", "b", "c", "c", "c"])
    weights = bootstrap_weights(3, 200, 7)
    slow = [
        np.repeat(values, [int(w[{"a": 0, "b": 1, "c": 2}[g]]) for g in groups]).mean()
        for w in weights
    ]
    out = _share_ci(values, groups, 200, 7, 0.9)
    assert out["lo"] == pytest.approx(np.quantile(slow, 0.05))
    assert out["hi"] == pytest.approx(np.quantile(slow, 0.95))


def test_a_model_trained_on_the_marks_recalls_them_and_spares_the_controls(pattern_world):
    """Plant the answer: a model fitted to the marked decisions must find them again, name the
    patterns' factors among its reasons and flag no control decision."""
    tables, f = pattern_world
    rows = f.merge(tables["marks"], on="decision_id")
    label = (rows["marked"] & rows["pattern"].isin(["sarah", "john"])).to_numpy()
    inputs = model_inputs(list(f.columns))
    cfg = fast_train_params(policy="guidance")
    fam = make_family("logreg", cfg).fit(rows[inputs], label)
    model = CalibratedModel(fam, capacity=float(label.mean())).fit(rows, label)
    result = pattern_metrics(
        {"logreg": model}, f, tables["marks"], tables["truth"], f, n_boot=200, seed=1
    )["logreg"]
    assert result["sarah"]["recall"]["value"] >= 0.9
    assert result["sarah"]["reasons_name_pattern"]["value"] >= 0.9
    assert result["john"]["recall"]["value"] == 1.0
    assert result["john"]["reasons_name_pattern"]["value"] == 1.0
    assert result["control_frequent"]["flag_rate"]["value"] == 0.0
    assert result["control_deprived"]["flag_rate"]["value"] == 0.0
    assert result["john"]["warrants"]["value"] == 1.0
    head = headline({"logreg": result})["logreg"]
    assert head == {
        "sarah_recall": result["sarah"]["recall"]["value"],
        "sarah_reasons_name_pattern": result["sarah"]["reasons_name_pattern"]["value"],
        "john_recall": 1.0,
        "john_reasons_name_pattern": 1.0,
        "control_frequent_flag_rate": 0.0,
        "control_deprived_flag_rate": 0.0,
    }


@pytest.mark.parametrize(
    ("command", "option", "missing"),
    [("patterns", "--train", "train.parquet"), ("policy", "--features", "train.parquet")],
)
def test_cli_names_the_missing_input(tmp_path, command, option, missing):
    from typer.testing import CliRunner

    from secondlook.cli import app
    from tests.conftest import PARAMS_FILE

    target = tmp_path / "train.parquet" if option == "--train" else tmp_path
    result = CliRunner().invoke(app, [command, option, str(target), "--params", str(PARAMS_FILE)])
    assert result.exit_code == 2, result.output
    assert missing in result.output and "not found" in result.output


def test_every_seed_pattern_says_what_it_is_about():
    from secondlook.evaluate.patterns import _PATTERN_FEATURES, PATTERN_FACTORS
    from secondlook.synth.patterns import CONTROL_WORDS, CONTROLS, PATTERNS, SEED_PATTERNS

    assert SEED_PATTERNS + CONTROLS == PATTERNS
    assert set(PATTERN_FACTORS) == set(_PATTERN_FEATURES) == set(SEED_PATTERNS)
    assert set(CONTROL_WORDS) == set(CONTROLS)
