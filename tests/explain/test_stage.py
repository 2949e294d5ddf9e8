"""The explain stage end to end on a small simulated world, and the seed cases' packs."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.explain import run_explain
from secondlook.explain.stage import pack_family
from secondlook.params import ExplainParams, load_params, load_section
from tests.explain.conftest import REPO


def _explain_cfg(**changes: Any) -> ExplainParams:
    cfg = load_section("explain", load_params(REPO / "params.yaml"))
    base = dict(n_boot=1, n_packs=3, stability_rows=200, plot_rows=300, n_dependence=1)
    return dataclasses.replace(cfg, **{**base, **changes})


@pytest.fixture(scope="module")
def stage_run(small_pipeline: dict[str, Any]) -> dict[str, Any]:
    root: Path = small_pipeline["root"]
    result = run_explain(
        _explain_cfg(pack_family="logreg"),
        small_pipeline["cfg"],
        small_pipeline["models_dir"],
        small_pipeline["features"],
        small_pipeline["raw"],
        root / "reports" / "explanations",
        root / "reports" / "case-reviews",
        seed_prefixes=("sarah-", "john-"),
        log=lambda _: None,
    )
    return {
        **result,
        "out": root / "reports" / "explanations",
        "packs": root / "reports" / "case-reviews",
    }


def test_stage_writes_every_output(stage_run: dict[str, Any]) -> None:
    out: Path = stage_run["out"]
    for name in ("summary.json", "fidelity.json", "stability.json"):
        data = json.loads((out / name).read_text())
        assert set(data) == {"rules", "logreg", "tree", "ebm", "gbm"}
    summary = json.loads((out / "summary.json").read_text())
    assert all(v["additivity_max_error"] <= 1e-6 for v in summary.values())
    assert summary["rules"]["margin_scale"] == "points"
    fid = json.loads((out / "fidelity.json").read_text())
    assert all(0 <= v["top_k_overlap"] <= 1 for v in fid.values())
    for v in fid.values():  # factors that raised the score: all, observable, and the ceiling
        assert 0 <= v["raised_all"] <= v["raised_observable"] <= 1
        assert v["raised_all"] <= v["ceiling_raised_all"] + 0.25
    assert all(v["reference"] == "clean_record" for v in summary.values())
    # the guidance-free default models may go against guidance; the rules checklist never does
    assert summary["rules"]["reasons_against_guidance"] == 0
    for family in ("logreg", "gbm"):
        assert (out / "global" / family / "beeswarm.png").stat().st_size > 1000
        assert (out / "reasons" / f"{family}.csv").is_file()
    assert (out / "global" / "fidelity-by-factor.csv").is_file()
    packs = sorted(p.name for p in stage_run["packs"].glob("*.html"))
    assert "index.html" in packs
    assert any(p.startswith("sarah-") for p in packs) and any(p.startswith("john-") for p in packs)


def _section(html: str, start: str, end: str) -> str:
    text = html[html.index(start) : html.index(end)]
    return re.sub(r"<[^>]+>", " ", text)


def _reasons_text(packs: Path, prefix: str) -> str:
    """The reasons part of every pack of a seed case (not the event list, not the truth)."""
    texts = []
    for path in sorted(packs.glob(f"{prefix}*.html")):
        html = path.read_text()
        texts.append(_section(html, "2. Why: the main reasons", "3. The case history"))
    assert texts, f"no packs for {prefix}"
    return " ".join(texts).lower().replace("&#39;", "'")


def test_sarah_packs_cite_sibling_history_and_drug_misuse(stage_run: dict[str, Any]) -> None:
    text = _reasons_text(stage_run["packs"], "sarah-")
    assert any(
        words in text
        for words in (
            "referrals about siblings",
            "referral about a sibling",
            "referrals of siblings",
        )
    )
    assert "drug" in text


def test_john_packs_cite_removal_unassessed_father_and_bruising(stage_run: dict[str, Any]) -> None:
    text = _reasons_text(stage_run["packs"], "john-")
    assert "removed" in text
    assert "never assessed" in text or "never been assessed" in text
    assert "bruising" in text and "not yet mobile" in text


def test_packs_state_the_clean_record_reference(stage_run: dict[str, Any]) -> None:
    html = next(stage_run["packs"].glob("sarah-*.html")).read_text()
    assert "compared with a referral with nothing recorded" in html


def test_pack_is_self_contained_and_keeps_truth_apart(stage_run: dict[str, Any]) -> None:
    html = next(stage_run["packs"].glob("john-*.html")).read_text()
    assert "<script" not in html and 'src="http' not in html
    assert html.count("data:image/png;base64,") == 2
    research = html.index("Research only")
    assert html.index("True chance of significant harm") > research
    assert "True chance" not in html[:research]
    assert html.index("4. What practice decided") < research


def test_cli_reports_missing_features(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "explain",
            "--features",
            str(tmp_path),
            "--no-track",
            "--params",
            str(REPO / "params.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert "train.parquet not found" in result.output


def test_pack_family_falls_back_to_the_first_trained_family(raw_params) -> None:
    """The packs and their index name the same family, the one whose reasons they show."""
    cfg = load_section("explain", raw_params)
    trained = {"logreg": object(), "rules": object()}
    assert pack_family(dataclasses.replace(cfg, pack_family="rules"), trained) == "rules"
    assert pack_family(dataclasses.replace(cfg, pack_family="ebm"), trained) == "logreg"


def test_packs_of_every_kind_are_sampled_and_indexed(stage_run: dict[str, Any]) -> None:
    index = (stage_run["packs"] / "index.html").read_text()
    for title in (
        "Seed cases",
        "Flagged, and escalation was warranted",
        "Flagged, but escalation was not warranted",
        "Not flagged, but escalation was warranted (missed)",
    ):
        assert title in index
    # n_packs=3: one of each kind (the small world has all three)
    for kind in ("flagged_warranted", "flagged_not_warranted", "missed"):
        assert re.search(rf'<h2 id="{kind}">[^<]*\(1\)</h2>', index), kind


def test_pack_gives_the_interval_each_models_cut_and_no_reassurance(
    stage_run: dict[str, Any],
) -> None:
    for path in stage_run["packs"].glob("*-D*.html"):
        html = path.read_text()
        text = re.sub(r"<[^>]+>", " ", html)
        assert re.search(r"\d+% \(between (under 1%|\d+%) and (over 99%|\d+%)\)", text), path
        assert "this model's cut" in text
        assert "log-odds" not in text and "f(x)" not in text and "`" not in text
        assert "#2e7d32" not in html  # "Not flagged" is never coloured green
