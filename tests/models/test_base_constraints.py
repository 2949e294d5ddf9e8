"""secondlook.models.base (constraints): the guidance policy: every family respects the catalogue's
directions when asked.

A toy world plants the trap the policy exists for: earlier decisions of no further action about
siblings *lower* the planted risk (practice's "start again" read as reassurance), so an
unconstrained model learns that a `raises` feature lowers the score. Under ``guidance`` no family
may: raising a `raises` feature never lowers the margin, raising a `lowers` feature never raises
it (a property checked over random rows and random increases).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from secondlook.features.catalogue import directions, spec
from secondlook.models import FAMILIES, make_family
from secondlook.models.base import constraints
from secondlook.models.linear import sign_constrained_logreg

from .conftest import fast_train_params

COLUMNS = [
    "referrals_12m",
    "sibling_prior_nfa",
    "days_since_last_referral",
    "age_months",
    "unassessed_adult_named_in_da",
    # the rules checklist reads these
    "bruising_non_mobile",
    "unborn_earlier_removal",
    "sibling_ever_removed",
    "unexplained_injuries_12m",
    "concern_sexual",
    "concern_physical_injury",
    "not_yet_mobile",
    "sibling_referrals_36m",
    "police_domestic_12m",
    "cp_plan_active",
]


def trap_world(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "referrals_12m": rng.poisson(1.0, n),
            "sibling_prior_nfa": rng.poisson(1.2, n),
            "days_since_last_referral": np.where(
                rng.random(n) < 0.4, 9999, rng.integers(1, 1500, n)
            ),
            "age_months": rng.integers(0, 200, n),
            "unassessed_adult_named_in_da": rng.binomial(1, 0.15, n),
            "bruising_non_mobile": rng.binomial(1, 0.03, n),
            "unborn_earlier_removal": rng.binomial(1, 0.02, n),
            "sibling_ever_removed": rng.binomial(1, 0.05, n),
            "unexplained_injuries_12m": rng.poisson(0.1, n),
            "concern_sexual": rng.binomial(1, 0.03, n),
            "concern_physical_injury": rng.binomial(1, 0.2, n),
            "not_yet_mobile": rng.binomial(1, 0.1, n),
            "sibling_referrals_36m": rng.poisson(1.0, n),
            "police_domestic_12m": rng.poisson(0.4, n),
            "cp_plan_active": rng.binomial(1, 0.05, n),
        }
    )
    logit = (
        -2.0
        + 0.7 * X["referrals_12m"]
        - 0.9 * X["sibling_prior_nfa"]  # the trap: a `raises` feature that lowers the risk
        + 1.5 * X["unassessed_adult_named_in_da"]
        + 2.0 * X["bruising_non_mobile"]
        - 0.01 * (X["age_months"] - 100)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X[COLUMNS].astype(float), y


@pytest.fixture(scope="module")
def trap() -> tuple[pd.DataFrame, np.ndarray]:
    return trap_world(3000, seed=5)


@pytest.fixture(scope="module")
def fitted(trap):
    X, y = trap
    out = {}
    for policy in ("none", "guidance"):
        cfg = fast_train_params(policy=policy)
        out[policy] = {name: make_family(name, cfg).fit(X, y) for name in FAMILIES}
    return out


def test_constraints_follow_the_catalogue():
    signs = constraints(
        ["referrals_12m", "days_since_last_referral", "age_months", "x"], "guidance"
    )
    assert signs == [1, -1, 0, 0]
    assert constraints(["referrals_12m"], "none") == [0]
    with pytest.raises(ValueError, match="policy must be one of"):
        constraints(["referrals_12m"], "strict")
    assert directions(["sibling_prior_nfa"]) == {"sibling_prior_nfa": 1}
    assert spec("sibling_prior_nfa").kind == "practice"


def test_unconstrained_families_fall_into_the_trap(fitted, trap):
    """Without the policy the planted trap is learned, so the property test below can fail."""
    X, _ = trap
    coef = fitted["none"]["logreg"].coefficients()["coef_per_unit"]
    assert coef["sibling_prior_nfa"] < -0.1
    for name in ("ebm", "gbm", "tree"):
        drops = _largest_drop(fitted["none"][name], X, "sibling_prior_nfa", +1)
        assert drops > 0.05, name


def _largest_drop(model, X: pd.DataFrame, column: str, sign: int, seed: int = 0) -> float:
    """Largest decrease of sign * margin when ``column`` rises, over random rows and steps."""
    rng = np.random.default_rng(seed)
    rows = X.iloc[rng.integers(0, len(X), 400)].reset_index(drop=True)
    worst = 0.0
    for step in (1.0, 2.0, 5.0, 50.0, 2000.0):
        bumped = rows.copy()
        bumped[column] = bumped[column] + step * rng.integers(1, 3, len(rows))
        diff = sign * (model.decision_function(bumped) - model.decision_function(rows))
        worst = max(worst, float(-diff.min()))
    return worst


@pytest.mark.parametrize("family", list(FAMILIES))
def test_guidance_policy_is_monotone(fitted, trap, family):
    X, _ = trap
    model = fitted["guidance"][family]
    for column, sign in directions(list(model.inputs_)).items():
        if sign == 0:
            continue
        assert _largest_drop(model, X, column, sign) <= 1e-9, (family, column)


def test_sign_constrained_logreg_matches_sklearn_when_no_bound_binds(trap):
    X, y = trap
    Z = StandardScaler().fit_transform(X)
    for l1_ratio, solver in ((0.0, "lbfgs"), (0.5, "saga")):
        lr = LogisticRegression(
            C=0.1, l1_ratio=l1_ratio, solver=solver, max_iter=100000, tol=1e-10
        ).fit(Z, y)
        coef, intercept = sign_constrained_logreg(Z, y, [0] * Z.shape[1], C=0.1, l1_ratio=l1_ratio)
        assert_allclose(coef, lr.coef_[0], atol=2e-5)
        assert intercept == pytest.approx(lr.intercept_[0], abs=2e-5)


def test_sign_constrained_logreg_respects_the_bounds(trap):
    X, y = trap
    Z = StandardScaler().fit_transform(X)
    signs = constraints(list(X.columns), "guidance")
    coef, _ = sign_constrained_logreg(Z, y, signs, C=0.1, l1_ratio=0.5)
    s = np.array(signs)
    assert (coef[s == 1] >= 0).all() and (coef[s == -1] <= 0).all()
    assert coef[list(X.columns).index("sibling_prior_nfa")] == 0.0  # the bound binds
    # a feature whose sign the data agrees with keeps a clearly positive weight
    assert coef[list(X.columns).index("referrals_12m")] > 0.2


def test_policy_reaches_the_fitted_estimators(fitted):
    g = fitted["guidance"]
    assert any(g["ebm"].ebm_.monotone_constraints)
    assert g["gbm"].gbm_.monotonic_cst is not None
    assert g["tree"].tree_.monotonic_cst is not None
    assert fitted["none"]["gbm"].gbm_.monotonic_cst is None
    assert g["logreg"].policy == "guidance"
    cfg = fast_train_params(policy="guidance")
    assert dataclasses.asdict(cfg)["policy"] == "guidance"
