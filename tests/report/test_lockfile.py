"""The report lists the hashes of its own ancestors in dvc.lock, never of stages after it."""

from __future__ import annotations

from pathlib import Path

import yaml

from secondlook.report.lockfile import report_ancestors, upstream_outputs

_LOCK = {
    "schema": "2.0",
    "stages": {
        "generate": {"deps": [{"path": "src/synth"}], "outs": [{"path": "data/raw", "md5": "g"}]},
        "featurize": {
            "deps": [{"path": "data/raw/events.parquet"}],
            "outs": [{"path": "features/train.parquet", "md5": "f"}],
        },
        "train@ebm": {
            "deps": [{"path": "features/train.parquet"}],
            "outs": [{"path": "models/ebm", "md5": "m"}],
        },
        "evaluate": {
            "deps": [{"path": "models"}],
            "outs": [{"path": "reports/metrics.json", "md5": "e"}],
        },
        # downstream of evaluate, not of the report: DVC may run it after the report
        "headline": {
            "deps": [{"path": "reports/metrics.json"}],
            "outs": [{"path": "reports/headline.json", "md5": "stale"}],
        },
        "report": {
            "deps": [{"path": "reports/metrics.json"}],
            "outs": [{"path": "reports/ethics-panel.html", "md5": "r"}],
        },
        "unrelated": {"deps": [], "outs": [{"path": "reports/other.csv", "md5": "u"}]},
    },
}


def test_ancestors_follow_dependencies_through_folders() -> None:
    stages = _LOCK["stages"]
    assert report_ancestors(stages, ["reports/metrics.json"]) == {
        "evaluate",
        "train@ebm",  # models/ebm lies under the folder dependency models
        "featurize",
        "generate",  # data/raw/events.parquet lies under the folder output data/raw
    }
    assert report_ancestors(stages, ["nowhere"]) == set()


def test_upstream_outputs_read_the_report_stage_of_dvc_yaml(tmp_path: Path) -> None:
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump(_LOCK), encoding="utf-8")
    spec = {"stages": {"report": {"cmd": "x", "deps": ["reports/metrics.json", "src/report"]}}}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert upstream_outputs(lock) == [
        ("evaluate", "reports/metrics.json", "e"),
        ("featurize", "features/train.parquet", "f"),
        ("generate", "data/raw", "g"),
        ("train@ebm", "models/ebm", "m"),
    ]


def test_without_dvc_yaml_every_stage_but_those_never_upstream(tmp_path: Path) -> None:
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump(_LOCK), encoding="utf-8")
    stages = [s for s, _, _ in upstream_outputs(lock)]
    assert "headline" not in stages and "report" not in stages
    assert "unrelated" in stages and "evaluate" in stages
