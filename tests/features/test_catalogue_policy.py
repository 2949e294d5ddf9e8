"""secondlook.features.catalogue: the policy on reasons in the catalogue: direction and kind for
every feature."""

from __future__ import annotations

import pytest

from secondlook.features import CATALOGUE, model_inputs, render_markdown, spec
from secondlook.features.catalogue import DIRECTIONS, PRACTICE_FEATURES, directions
from secondlook.models import select_inputs


def test_every_feature_declares_direction_and_kind_with_a_reason_why():
    for s in CATALOGUE:
        assert s.direction in DIRECTIONS, s.name
        assert s.kind in ("signal", "practice"), s.name
        if s.direction != "either":
            assert s.why and s.why.endswith("."), s.name


@pytest.mark.parametrize(
    ("name", "direction", "kind"),
    [
        ("referrals_12m", "raises", "signal"),
        ("sibling_prior_nfa", "raises", "practice"),  # practice's NFA is no reassurance
        ("sibling_cp_plan_ever", "raises", "practice"),
        ("sibling_ever_removed", "raises", "signal"),
        ("unassessed_adult_named_in_da", "raises", "signal"),
        ("assessment_found_parental_drug_misuse", "raises", "signal"),
        ("bruising_non_mobile", "raises", "signal"),
        ("days_since_last_referral", "lowers", "signal"),
        ("age_months", "either", "signal"),
        ("concern_neglect", "either", "signal"),
        ("cp_plan_active", "either", "practice"),
    ],
)
def test_guidance_directions(name, direction, kind):
    assert (spec(name).direction, spec(name).kind) == (direction, kind)


def test_practice_features_are_what_practice_decided():
    practice = {s.name for s in CATALOGUE if s.kind == "practice"}
    assert practice == set(PRACTICE_FEATURES)
    assert all(
        n.startswith(("prior_", "sibling_prior_", "cp_plan", "sibling_cp", "sibling_on"))
        for n in practice
    )


def test_catalogue_markdown_shows_direction_kind_and_why():
    md = render_markdown()
    assert "| direction | kind | why |" in md
    line = next(x for x in md.splitlines() if x.startswith("| `sibling_prior_nfa`"))
    assert "| raises | practice |" in line and "siblings' history" in line


def test_practice_blind_inputs_are_signals_only():
    columns = [s.name for s in CATALOGUE] + ["decision_id", "label_warrants_escalation"]
    every = model_inputs(columns)
    blind = model_inputs(columns, include_practice=False)
    assert set(every) - set(blind) == set(PRACTICE_FEATURES)
    via_models = select_inputs(columns, False, practice_features="exclude")
    assert via_models == blind
    with pytest.raises(ValueError, match="practice_features"):
        select_inputs(columns, False, practice_features="some")


def test_directions_of_inputs_outside_the_catalogue_are_free():
    assert directions(["ethnicity_white", "prior_s47"]) == {"ethnicity_white": 0, "prior_s47": 1}
