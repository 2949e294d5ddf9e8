"""What the policy costs and buys: the comparison table on a world with the planted trap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.evaluate.policy import SETTINGS, policy_comparison, policy_table_markdown
from secondlook.schema import FACTORS
from tests.models.test_base_constraints import trap_world

from ..models.conftest import fast_train_params


def _split(n: int, seed: int) -> pd.DataFrame:
    X, y = trap_world(n, seed)
    out = X.copy()
    out.insert(0, "decision_id", [f"s{seed}-{i:05d}" for i in range(n)])
    out["label_warrants_escalation"] = y
    return out


@pytest.fixture(scope="module")
def table():
    splits = {"train": _split(2500, 1), "valid": _split(1500, 2), "test": _split(1500, 3)}
    splits["test"].loc[0, "decision_id"] = "sarah-D08"
    rng = np.random.default_rng(0)
    truth = pd.DataFrame({f"driver_{f}": np.zeros(1500) for f in FACTORS})
    truth["driver_unassessed_violent_adult"] = rng.random(1500)
    return policy_comparison(
        fast_train_params(),
        splits,
        truth,
        label="warrants_escalation",
        seed_ids=("sarah-D08",),
        families=("logreg", "tree", "rules"),
        log=lambda _: None,
    )


def test_every_setting_and_family_is_measured(table):
    assert set(table["setting"]) == set(SETTINGS)
    assert len(table) == 4 * 3
    assert table["auprc_margin"].between(0, 1).all()
    assert {"sarah-D08_probability", "sarah-D08_flag"} <= set(table.columns)


def test_the_guidance_policy_leaves_no_reason_against_guidance(table):
    guided = table[table["policy"] == "guidance"]
    assert (guided["reasons_against_guidance"] == 0).all()
    free = table[(table["setting"] == "none") & (table["family"] == "logreg")]
    assert int(free["reasons_against_guidance"].iloc[0]) > 0  # the trap is learned without it
    rules = table[table["family"] == "rules"]
    assert (rules["reasons_against_guidance"] == 0).all()  # monotone by construction


def test_practice_blind_drops_the_practice_inputs(table):
    lr = table[table["family"] == "logreg"].set_index("setting")
    # the trap world has two practice columns: sibling_prior_nfa and cp_plan_active
    assert lr.loc["none", "n_inputs"] - lr.loc["practice-blind", "n_inputs"] == 2
    md = policy_table_markdown(table, ("sarah", "john"))
    assert md.count("\n") == len(table) + 2
    assert "| AUPRC (margin) |" in md and "| sarah-D08 chance | flagged |" in md
    assert "chance" not in policy_table_markdown(table)  # no seed case named, no seed column


def test_run_policy_names_the_missing_truth_table(tmp_path, raw_params):
    from secondlook.errors import MissingInputError
    from secondlook.evaluate.policy import run_policy
    from secondlook.params import load_section

    for seed, name in enumerate(("train", "valid", "test"), start=1):
        _split(20, seed).to_parquet(tmp_path / f"{name}.parquet")
    sections = [load_section(s, raw_params) for s in ("evaluate", "explain", "synth", "train")]
    raw = tmp_path / "raw"
    with pytest.raises(MissingInputError) as info:
        run_policy(*sections, tmp_path, raw, log=lambda _: None)
    assert str(info.value) == f"{raw / 'truth.parquet'} not found; run `dvc repro generate` first"
