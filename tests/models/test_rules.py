"""The rules family flags exactly what its checklist documents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.models import CalibratedModel, ModelInputError, RulesModel
from secondlook.models.rules import DEFAULT_POINTS, RULE_COLUMNS, RULE_TEXT

ZERO = dict.fromkeys(RULE_COLUMNS, 0)


def row(**values: int) -> dict[str, int]:
    return ZERO | values


# (row, items that must hold) — one row per documented item, plus edges that must NOT count
CASES = [
    (row(), set()),
    (row(bruising_non_mobile=1), {"bruising_non_mobile"}),
    (row(bruising_non_mobile=3, not_yet_mobile=1), {"bruising_non_mobile"}),
    (row(unborn_earlier_removal=1), {"unborn_earlier_removal"}),
    (row(sibling_ever_removed=1), {"sibling_ever_removed"}),
    (row(unassessed_adult_named_in_da=1), {"unassessed_adult_named_in_da"}),
    (row(unexplained_injuries_12m=2), {"unexplained_injuries"}),
    (row(concern_sexual=1), {"concern_sexual"}),
    (row(concern_physical_injury=1, not_yet_mobile=1), {"injury_non_mobile"}),
    (row(concern_physical_injury=1), set()),  # injury concern about a mobile child: no item
    (row(not_yet_mobile=1), set()),
    (row(referrals_12m=3), {"repeat_referrals"}),
    (row(referrals_12m=2), set()),  # below the minimum of 3
    (row(sibling_referrals_36m=3), {"sibling_referrals"}),
    (row(sibling_referrals_36m=2), set()),
    (row(police_domestic_12m=2), {"police_domestic"}),
    (row(police_domestic_12m=1), set()),
    (row(cp_plan_active=1), {"cp_plan_active"}),
    (
        row(bruising_non_mobile=1, not_yet_mobile=1, concern_physical_injury=1, referrals_12m=5),
        {"bruising_non_mobile", "injury_non_mobile", "repeat_referrals"},
    ),
]


@pytest.fixture
def checklist_frame() -> pd.DataFrame:
    return pd.DataFrame([r for r, _ in CASES])


def fitted_rules(X: pd.DataFrame, **kwargs: object) -> RulesModel:
    y = np.arange(len(X)) % 2  # the checklist learns nothing from the label
    return RulesModel(**kwargs).fit(X, y)  # type: ignore[arg-type]


def test_each_documented_item_holds_exactly_when_documented(checklist_frame):
    model = fitted_rules(checklist_frame)
    items = model.items(checklist_frame)
    for i, (_, expected) in enumerate(CASES):
        held = {k for k in RULE_TEXT if items.iloc[i][k] == 1}
        assert held == expected, f"case {i}: {held} != {expected}"


def test_margin_is_the_sum_of_documented_points(checklist_frame):
    model = fitted_rules(checklist_frame)
    expected = [sum(DEFAULT_POINTS[k] for k in want) for _, want in CASES]
    np.testing.assert_array_equal(model.decision_function(checklist_frame), expected)
    np.testing.assert_array_equal(
        model.contributions(checklist_frame).sum(axis=1).to_numpy(), expected
    )


def test_points_and_minimums_come_from_params(checklist_frame):
    points = dict.fromkeys(DEFAULT_POINTS, 0) | {"repeat_referrals": 7}
    model = fitted_rules(checklist_frame, points=points, referrals_12m_min=2)
    margin = model.decision_function(pd.DataFrame([row(referrals_12m=2), row(referrals_12m=1)]))
    np.testing.assert_array_equal(margin, [7, 0])
    text = {c["item"]: c["text"] for c in model.checklist()}
    assert text["repeat_referrals"].startswith("2 or more referrals")


def test_flags_are_exactly_the_rows_at_or_above_the_points_cut():
    from secondlook.models.toy import toy_feature_table

    valid, test = toy_feature_table(2000, seed=5), toy_feature_table(2000, seed=6)
    rules = RulesModel().fit(valid, valid["label_warrants_escalation"].to_numpy())
    model = CalibratedModel(rules, capacity=0.1).fit(valid, valid["label_warrants_escalation"])
    cut = model.margin_threshold_
    assert cut == int(cut)  # the cut is a points total
    points = rules.decision_function(test)
    np.testing.assert_array_equal(model.flag(test), points >= cut)


def test_missing_checklist_column_is_named():
    X = pd.DataFrame([ZERO]).drop(columns=["police_domestic_12m"])
    with pytest.raises(ModelInputError, match="police_domestic_12m"):
        RulesModel().fit(pd.concat([X, X]), [0, 1])


def test_unknown_points_item_is_refused(checklist_frame):
    with pytest.raises(ValueError, match="unknown items"):
        fitted_rules(checklist_frame, points=DEFAULT_POINTS | {"bogus": 1})


def test_every_list_of_the_checklist_items_agrees_with_the_one_checklist() -> None:
    """params (RulesPoints, params.yaml), the model's items and the explainer read one list."""
    import dataclasses
    from pathlib import Path

    from secondlook.explain.contributions import RULE_ITEM_FEATURES
    from secondlook.models.rules import CHECKLIST, DEFAULT_POINTS, RULE_COLUMNS, RulesModel
    from secondlook.models.toy import toy_feature_table
    from secondlook.params import RulesPoints, load_params, load_section

    items = list(CHECKLIST)
    assert [f.name for f in dataclasses.fields(RulesPoints)] == items
    params = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
    assert dataclasses.asdict(load_section("train", params).rules.points) == DEFAULT_POINTS
    assert list(RulesModel().items(toy_feature_table(20, seed=0)).columns) == items
    assert RULE_ITEM_FEATURES == {k: v[0] for k, v in CHECKLIST.items()}
    assert sorted(RULE_COLUMNS) == sorted({c for v in CHECKLIST.values() for c in v[0]})
