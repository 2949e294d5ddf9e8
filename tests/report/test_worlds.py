"""The report's cross-world section, read from what a sweep wrote."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secondlook.report.model import Table
from secondlook.report.worlds import worlds_section, worlds_summary_point
from secondlook.sweep.stage import write_outputs
from tests.report.helpers import code_names


@dataclasses.dataclass
class _Scenario:
    name: str


@dataclasses.dataclass
class _Design:
    name: str = "observability"
    description: str = "agencies see less, as now, more"
    seeds: tuple[int, ...] = (1, 2, 3)
    n_households: int = 1000
    scenarios: tuple[_Scenario, ...] = (_Scenario("low"), _Scenario("as_now"), _Scenario("high"))


def _worlds() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    scen = np.repeat(["low", "as_now", "high"], 3)
    lead = np.array([0.30, 0.35, 0.40, 0.20, 0.25, 0.30, -0.05, 0.10, 0.15])
    return pd.DataFrame(
        {
            "design": "observability",
            "scenario": scen,
            "seed": np.tile([1, 2, 3], 3),
            "candidate": "ebm",
            "auroc.candidate.warrants_escalation": 0.9 + rng.normal(0, 0.01, 9),
            "lead_over_practice.candidate": lead,
            "proxy_auroc.logreg.cp_plan_12m": np.repeat([0.70, 0.74, 0.80], 3),
        }
    )


def test_section_reads_a_sweep(tmp_path: Path) -> None:
    folder = tmp_path / "sweep" / "observability"
    write_outputs(_Design(), _worlds(), folder)  # type: ignore[arg-type]
    section = worlds_section(folder, tmp_path)
    assert section.available
    assert section.table is not None
    assert section.table.columns == ("figure", "low", "as now", "high", "range across scenarios")
    lead = next(r for r in section.table.rows if r[0].startswith("candidate's lead"))
    # sd 0.05 over 3 worlds: MCSE 0.0289, times Student's t with 2 df (4.303), not 1.96
    assert lead[1] == "0.350 ± 0.124"
    assert lead[4] == "0.067 to 0.350"
    beats = next(f for f in section.findings if f.startswith("The candidate model catches"))
    assert "does NOT hold in every world" in beats and "high, seed 1" in beats
    assert section.external is not None
    bands = {(r[1], r[4]) for r in section.external.rows}
    assert ("low", "OUTSIDE") in bands and ("high", "inside") in bands
    assert section.figures and all(
        f.alt and f.src.startswith("data:image/png") for f in section.figures
    )
    point = worlds_summary_point(folder)
    assert point is not None
    assert (
        "from 0.067 to 0.350" in point and "does not beat practice in every world (8 of 9)" in point
    )


def test_section_without_a_sweep_says_what_is_missing(tmp_path: Path) -> None:
    section = worlds_section(tmp_path / "nowhere", tmp_path)
    assert not section.available
    assert section.missing[0].path == "nowhere/summary.json"
    assert worlds_summary_point(tmp_path / "nowhere") is None


def _strings(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, Table) or dataclasses.is_dataclass(x):
        return [
            s
            for f in dataclasses.fields(x)  # type: ignore[arg-type]
            if f.name != "src"
            for s in _strings(getattr(x, f.name))
        ]
    if isinstance(x, tuple | list):
        return [s for v in x for s in _strings(v)]
    return []


def test_cross_world_section_is_in_plain_words(tmp_path: Path) -> None:
    folder = tmp_path / "sweep" / "observability"
    worlds = _worlds()
    worlds["proxy_recall_at_capacity.logreg.removal_12m"] = 0.25
    worlds["fidelity_overlap.candidate"] = 0.4
    write_outputs(_Design(), worlds, folder)  # type: ignore[arg-type]
    section = worlds_section(folder, tmp_path)
    text = " ".join(_strings(section)) + " " + (worlds_summary_point(folder) or "")
    found = code_names(f"<p>{text}</p>")
    assert found == [], found
    assert "FACTS" not in text and "Rosholm et al. 2024" in text
    assert "MCSE" not in text
    assert section.figures and all("the its" not in f.alt for f in section.figures)
    point = worlds_summary_point(folder) or ""
    assert "scenario means vary: the candidate's AUROC ranges from" in point


def test_a_finding_measured_in_few_worlds_says_so() -> None:
    from secondlook.report.worlds import _finding_sentence

    f = {"worlds": 1, "holds": 0, "fails_in": ["low/1"], "holds_in_every_world": False}
    text = _finding_sentence("disparity", f, "a disparity lies outside the band", total=9)
    assert "does NOT hold in every world — 0 of 1 (fails in low, seed 1)." in text
    assert "measured in only 1 of the 9 worlds" in text
    every = {"worlds": 3, "holds": 3, "holds_in_every_world": True}
    assert _finding_sentence("x", every, "it holds", total=3) == (
        "It holds: holds in every world (3 of 3)."
    )
    part = _finding_sentence("x", every, "it holds", total=9)
    assert part.startswith("It holds: holds in every world where it was measured (3 of 3).")


def test_the_intro_gives_the_designs_first_sentence_only() -> None:
    from secondlook.report.worlds import _first_sentence

    text = "How much agencies see: halved, as now. Checked at 20,000 households, seed 1."
    assert _first_sentence(text) == "How much agencies see: halved, as now."
    assert _first_sentence("no full stop") == "no full stop"
