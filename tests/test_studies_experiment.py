"""secondlook.studies: a study run as a real DVC experiment on a tiny world agrees with the policy
stage's table.

Slow (a few minutes on a busy two-core machine): in a fresh clone, the pipeline runs on a world of
1,500 households with two families, the ``policy`` stage fits every setting in one process, then
``secondlook study guidance-policy`` runs the study as ``dvc exp run`` (training, patterns,
evaluate and explain under ``train.policy: guidance``). Every figure of the report's table "what
the policy costs and buys" that the experiment's own outputs also hold must equal the policy
stage's ``guidance`` row (up to the 6 decimals the explain stage writes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from secondlook.evaluate.policy import COMPARED, compare_with_runs, pipeline_rows
from tests.conftest import with_overrides

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

#: a tiny world and light settings; the study's own key (train.policy) is left at its default
TINY = {
    "synth.n_households": 1500,
    "synth.cohort_households": 200,
    "train.families": ["logreg", "tree"],
    "evaluate.n_boot": 20,
    "evaluate.pattern_variants": 8,
    "explain.n_boot": 1,
    "explain.stability_rows": 100,
    "explain.plot_rows": 200,
    "explain.n_packs": 1,
    "explain.n_dependence": 0,
}


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, (cmd, done.stdout[-3000:], done.stderr[-5000:])
    return done.stdout


def test_a_study_runs_as_a_dvc_experiment_and_matches_the_policy_stage(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    clone = tmp_path / "secondlook"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    params = yaml.safe_load((clone / "params.yaml").read_text())
    (clone / "params.yaml").write_text(yaml.safe_dump(with_overrides(params, TINY)))
    bin_dir = str(Path(sys.executable).parent)  # python, dvc and secondlook of this venv
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    env.update(
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(clone / ".dvc" / "site-cache"),
        GIT_AUTHOR_NAME="test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    # the baseline: the stages the table is read from, and the policy stage's four settings
    _run(["dvc", "repro", "evaluate", "explain", "policy"], clone, env)
    _run(["git", "commit", "--quiet", "-am", "tiny baseline"], clone, env)
    policy = pd.DataFrame(json.loads((clone / "reports" / "policy.json").read_text()))
    assert set(policy["setting"]) == {
        "none",
        "guidance",
        "practice-blind",
        "guidance+practice-blind",
    }

    out = _run(
        [
            "secondlook",
            "study",
            "guidance-policy",
            "--stage",
            "evaluate",
            "--stage",
            "explain",
        ],
        clone,
        env,
    )
    names = _run(["dvc", "exp", "list", "--name-only"], clone, env).split()
    assert "guidance-policy" in names, out
    shown = json.loads(_run(["dvc", "exp", "show", "--json"], clone, env))
    params_of = {
        rev["name"]: rev["data"]["params"]["params.yaml"]["data"]
        for entry in shown
        for exp in entry.get("experiments") or []
        for rev in exp.get("revs") or []
        if rev.get("name")
    }
    assert params_of["guidance-policy"]["train"]["policy"] == "guidance"
    # the experiment's own outputs (dvc exp run leaves them in the workspace)
    reports = clone / "reports"
    run = pipeline_rows(
        json.loads((reports / "metrics.json").read_text()),
        json.loads((reports / "patterns.json").read_text()),
        json.loads((reports / "explanations" / "summary.json").read_text()),
        json.loads((reports / "explanations" / "fidelity.json").read_text()),
        setting="guidance",
        seed_cases=pd.read_csv(reports / "seed-cases.csv"),
    )
    assert sorted(run["family"]) == ["logreg", "tree"]
    assert set(COMPARED) <= set(run.columns)
    diff = compare_with_runs(policy, run)
    assert set(COMPARED) <= set(diff["column"])
    assert (diff["families"] == 2).all()
    assert diff["max_abs_diff"].max() <= 1e-6, diff.sort_values("max_abs_diff").tail()
    # and the guidance policy holds in the experiment: no reason against guidance
    assert (run["reasons_against_guidance"] == 0).all()
