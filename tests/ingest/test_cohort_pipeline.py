"""The pipeline on real records (``data.source: cohort``): exported, imported, run end to end.

A small simulated world is written as every census year's returns by the project's own writer,
imported with ``secondlook import cin-census``, and then every stage runs from the command line
on the imported cohort, as dvc.yaml runs them (default paths, from the run's folder) -- with no
ground truth. Each truth-dependent output must say "not available: real records have no ground
truth"; the figures that need only the observed labels must be real numbers.

Slow: about a minute and a half (three families fitted, explained and audited).

Cross-cutting (named by what it checks, not by a module): it runs every stage, from ingest to
the report, on one imported cohort.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.ingest import export_census, family_links, write_census
from secondlook.ingest.export import prepare
from secondlook.params import NO_GROUND_TRUTH
from tests.conftest import CENSUS_WINDOW, YEARS, with_overrides

pytestmark = pytest.mark.slow

# the rules checklist needs multi-agency features (police, siblings): not on the census view
FAMILIES = ["logreg", "tree", "ebm"]
NOT_AVAILABLE = "not available: real records have no ground truth"


def _params(raw: dict[str, Any]) -> dict[str, Any]:
    """params.yaml for a cohort: observed labels, windows inside the census years, tiny runs."""
    return with_overrides(
        raw,
        {
            "data.source": "cohort",
            "train.label": "cp_plan_12m",
            "evaluate.label": "cp_plan_12m",
            "features.view": "cin_census",
            "train.families": FAMILIES,
            "train.ebm": {
                **raw["train"]["ebm"],
                "interactions": 2,
                "outer_bags": 1,
                "max_rounds": 300,
                "max_bins": 64,
                "n_jobs": 1,
            },
            "features.split.train": {"start": "2017-04-01", "end": "2021-12-31"},
            "features.split.valid": {"start": "2022-01-01", "end": "2023-03-31"},
            "features.split.test": {"start": "2023-04-01", "end": "2024-12-31"},
            "evaluate.n_boot": 50,
            "fairness.n_boot": 20,
            "fairness.min_cell": 1,
            "explain.n_boot": 2,
            "explain.n_packs": 3,
            "explain.stability_rows": 100,
            "explain.plot_rows": 200,
            "explain.n_dependence": 1,
            "explain.pack_family": "ebm",
        },
    )


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def run(
    make_synth: Any,
    tmp_path_factory: pytest.TempPathFactory,
    raw_params: dict[str, Any],
) -> Path:
    """The folder of a whole pipeline run on an imported census cohort."""
    from secondlook.synth import build_world

    root = tmp_path_factory.mktemp("cohort-run")
    _, world = build_world(make_synth(**CENSUS_WINDOW), None, n_households=1500)
    prepared = prepare(world)
    files: list[Path] = []
    for year in YEARS:
        files += write_census(export_census(prepared, year), root / "returns" / f"cin_{year}.xml")
    family_links(world).to_csv(root / "families.csv", index=False)
    (root / "params.yaml").write_text(yaml.safe_dump(_params(raw_params), sort_keys=False))
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    try:
        _run("import", "cin-census", *map(str, files), "--out", "data/records",
             "--households", "families.csv")  # fmt: skip
        _run("generate", "--records", "data/records")
        _run("featurize")
        for family in FAMILIES:
            _run("train", "--family", family)
        _run("patterns")
        _run("policy")
        _run("views")
        _run("evaluate", "--patterns", "reports/patterns.json", "--no-track")
        _run("fairness", "--no-track")
        _run("explain", "--no-track")
        _run("headline", "--details", "reports/headline-families.json")
        _run("report", "--no-track")
        _run("score", "data/cohort", "--model", "models/logreg",
             "--out", "reports/cohort-scores.parquet")  # fmt: skip
    finally:
        mp.undo()
    return root


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _numbers(x: Any) -> list[float]:
    if isinstance(x, dict):
        return [n for v in x.values() for n in _numbers(v)]
    if isinstance(x, list):
        return [n for v in x for n in _numbers(v)]
    return [float(x)] if isinstance(x, int | float) and not isinstance(x, bool) else []


def test_records_have_observed_labels_only(run: Path) -> None:
    summary = _json(run / "data/raw/summary.json")
    assert summary["source"] == "cohort" and summary["ground_truth"] == NO_GROUND_TRUTH
    # the census records no removals: that label is absent, never False
    assert summary["labels_observed"] == ["cp_plan_12m", "rereferral_12m"]
    assert summary["labels_not_observable"] == ["removal_12m"]
    truth = pd.read_parquet(run / "data/raw/truth.parquet")
    assert list(truth.columns) == ["decision_id", "cp_plan_12m", "rereferral_12m"]
    decisions = pd.read_parquet(run / "data/raw/decisions.parquet")
    assert len(decisions) == summary["n_decisions"] > 300
    test = pd.read_parquet(run / "features/test.parquet")
    labels = sorted(c for c in test.columns if c.startswith("label_"))
    assert labels == ["label_cp_plan_12m", "label_rereferral_12m"]
    assert test["label_cp_plan_12m"].sum() > 5


def test_metrics_are_real_figures_against_the_observed_label(run: Path) -> None:
    metrics = _json(run / "reports/metrics.json")
    assert metrics["label"] == "cp_plan_12m" and metrics["ground_truth"] == NO_GROUND_TRUTH
    assert set(metrics["families"]) == set(FAMILIES)
    for family in FAMILIES:
        auroc = metrics["families"][family]["auroc"]
        assert 0.0 < auroc < 1.0 and math.isfinite(auroc)
    assert _json(run / "reports/headline.json")["candidate"] in FAMILIES  # dvc metrics show
    headline = _json(run / "reports/headline-families.json")
    assert headline["ground_truth"] == NO_GROUND_TRUTH
    assert headline["measured_against"].startswith("cp_plan_12m")
    for family in FAMILIES:
        row = headline["families"][family]
        assert row["auroc_lo"] <= row["auroc"] <= row["auroc_hi"]
        assert row["explanations"]["fidelity"].startswith(NOT_AVAILABLE)
        assert 0.0 <= row["explanations"]["stability_kendall_tau_mean"] <= 1.0


def test_truth_dependent_outputs_say_not_available(run: Path) -> None:
    fidelity = _json(run / "reports/explanations/fidelity.json")
    assert set(fidelity) == set(FAMILIES)
    for family in FAMILIES:
        assert fidelity[family] == {"not_available": NO_GROUND_TRUTH}
    assert _numbers(fidelity) == []
    fairness = _json(run / "reports/fairness.json")
    assert fairness["label_bias"] == NO_GROUND_TRUTH and fairness["proxy_statements"] == []
    assert fairness["measured_against"] == "cp_plan_12m"
    flag_rates = [
        cells["flag_rate"]["value"]
        for attrs in fairness["families"].values()
        for entry in attrs.values()
        for cells in entry["by_group"].values()
        if isinstance(cells.get("flag_rate"), dict) and cells["flag_rate"].get("value") is not None
    ]
    assert flag_rates and all(0.0 <= v <= 1.0 for v in flag_rates)
    assert _json(run / "reports/patterns.json") == {"ground_truth": NO_GROUND_TRUTH, "headline": {}}
    assert _json(run / "reports/policy.json") == []
    assert NO_GROUND_TRUTH in (run / "reports/policy.md").read_text()
    assert NO_GROUND_TRUTH in (run / "reports/views/views.md").read_text()


def test_case_review_packs_are_sampled_by_the_observed_outcome(run: Path) -> None:
    index = (run / "reports/case-reviews/index.html").read_text()
    assert "by the outcome recorded afterwards (no ground truth)" in index
    packs = [p for p in (run / "reports/case-reviews").glob("*.html") if p.name != "index.html"]
    assert packs
    for pack in packs:
        text = pack.read_text()
        assert "real records have no ground truth" in text
        assert "true risk" not in text.lower()


def test_the_report_says_not_available_where_it_must(run: Path) -> None:
    page = (run / "reports/ethics-panel.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#39;", "'")
    assert "Real records: no ground truth" in text
    assert NO_GROUND_TRUTH.replace("'", "&#39;") in page or NO_GROUND_TRUTH in text
    for analysis in (
        "Fidelity of the reasons",
        "The label-bias study",
        "The value of linked",
        "The seed cases",
    ):
        assert re.search(re.escape(analysis) + r"[^.]*: not available, because", text), analysis
    # real figures elsewhere: the candidate's AUROC against the observed label
    assert "followed by a child protection plan within 12 months (recorded, not the truth)" in text
    assert re.search(r"with AUROC 0\.\d\d \(0\.\d\d to [01]\.\d\d\)", text)
    assert "The world is invented" not in text
    assert "practice's recall there is high by construction" in text


def test_the_imported_cohort_is_scored(run: Path) -> None:
    scores = pd.read_parquet(run / "reports/cohort-scores.parquet")
    events = pd.read_parquet(run / "data/cohort/events.parquet")
    assert len(scores) > 0
    assert set(scores["person_id"].astype(str)) <= set(events["person_id"].astype(str))
