"""Seed cases: validated on load, placed in the world with their truth and recognisable ids."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from secondlook.params import SynthParams
from secondlook.synth.vignettes import VignetteError, load_vignette
from tests.conftest import VIGNETTES


def test_seed_cases_are_in_the_world_with_decisions_and_truth(tiny_world) -> None:
    _, tables = tiny_world
    dec = tables["decisions"].merge(tables["truth"], on="decision_id")
    sarah = dec[dec["decision_id"].str.startswith("sarah-")]
    john = dec[dec["decision_id"].str.startswith("john-")]
    # seven referrals of the older brother, none escalated, then Sarah's own referral
    brother = sarah[sarah["person_id"] == "sarah-brother"]
    assert len(brother) == 7
    assert (brother["practice_outcome"] != "s47").all()
    last = sarah[sarah["person_id"] == "sarah-sarah"].iloc[0]
    assert last["warrants_escalation"] and last["harm_12m_observed"]
    assert last["state_drug"] and last["state_mental_health"]
    assert last["driver_drug"] > 0
    # John: earlier removal, unassessed violent father, domestic abuse; harmed within 12 months
    assert len(john) == 5
    assert john["state_earlier_removal"].all()
    bruising = john[john["decision_date"] == john["decision_date"].iloc[2]].iloc[0]
    assert bruising["state_unassessed_violent_adult"] and bruising["state_domestic_abuse"]
    assert bruising["practice_outcome"] == "nfa" and bruising["warrants_escalation"]
    assert bruising["harm_12m_observed"]


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("anchor"), "anchor"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["events"][0].update(type="visit"), "events[0].type"),
        (lambda d: d["events"][0].update(person="nobody"), "events[0].person"),
        (lambda d: d["household"].update(deprivation_decile="low"), "household.deprivation_decile"),
        (lambda d: d["state"].update(luck=[[0, 1]]), "state.luck"),
        (lambda d: d["events"][1].pop("outcome"), "events[1].outcome"),
    ],
)
def test_a_bad_vignette_names_the_file_and_the_field(tmp_path: Path, mutate, field: str) -> None:
    data = yaml.safe_load((VIGNETTES / "sarah.yaml").read_text())
    mutate(data)
    path = _write(tmp_path, "sarah", data)
    with pytest.raises(VignetteError) as exc:
        load_vignette(path)
    assert str(path) in str(exc.value)
    assert field in str(exc.value)


def test_vignette_name_must_match_its_file(tmp_path: Path) -> None:
    data = yaml.safe_load((VIGNETTES / "john.yaml").read_text())
    with pytest.raises(VignetteError, match="must match the file name"):
        load_vignette(_write(tmp_path, "other", data))


def test_both_seed_cases_load(synth_params: SynthParams) -> None:
    for name in synth_params.vignettes:
        v = load_vignette(VIGNETTES / f"{name}.yaml")
        assert v.name == name and v.story and v.harm
