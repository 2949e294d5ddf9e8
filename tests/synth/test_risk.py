"""The true risk and its drivers: an exact Shapley decomposition, checked by enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from secondlook.params import SynthParams
from secondlook.schema import FACTORS
from secondlook.synth import risk


def _brute_force_shapley(values: dict[str, float], age: int, params: SynthParams) -> dict:
    """Shapley values of eta over FACTORS by enumerating every coalition (the oracle)."""
    players = list(FACTORS)
    n = len(players)

    def v(coalition: set[str]) -> float:
        x = {f: np.array([values[f] if f in coalition else 0.0]) for f in players}
        return float(risk.logodds(x, np.array([age]), params.harm)[0])

    out = {}
    for p in players:
        others = [q for q in players if q != p]
        total = 0.0
        for size in range(n):
            w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for c in itertools.combinations(others, size):
                total += w * (v(set(c) | {p}) - v(set(c)))
        out[p] = total
    return out


@pytest.mark.parametrize("pattern", [0, 1, 3, 5, 7, 12, 13, 14, 15, 255, 511, 0b101101101])
def test_drivers_equal_brute_force_shapley(synth_params: SynthParams, pattern: int) -> None:
    rng = np.random.default_rng(pattern)
    values = {f: float(pattern >> i & 1) for i, f in enumerate(FACTORS)}
    values["deprivation"] = float(rng.uniform()) if values["deprivation"] else 0.0
    expected = _brute_force_shapley(values, 3, synth_params)
    got = risk.drivers({f: np.array([x]) for f, x in values.items()}, synth_params.harm)
    for f in FACTORS:
        assert got[f][0] == pytest.approx(expected[f], abs=1e-12), f


def test_trio_shares_split_equally_with_one_substance() -> None:
    # drug + mental health + domestic abuse: bits 1, 4, 8
    assert_allclose(risk.TRIO_SHARES[1 | 4 | 8], [1 / 3, 0, 1 / 3, 1 / 3])
    # both substances: they share the substance part, mental health and abuse get more
    both = risk.TRIO_SHARES[15]
    assert both.sum() == pytest.approx(1.0)
    assert both[0] == both[1] < both[2] == both[3]
    assert risk.TRIO_SHARES[1 | 4].sum() == 0.0  # no domestic abuse: no co-occurrence


def test_monthly_hazard_compounds_to_the_12_month_risk() -> None:
    eta = np.linspace(-8, 3, 23)
    h = risk.monthly_hazard(eta)
    assert_allclose(1 - (1 - h) ** 12, risk.sigmoid(eta), rtol=1e-12)


def test_age_curve_is_highest_for_infants(synth_params: SynthParams) -> None:
    ages = np.array([-3, 2, 8, 18, 40, 100, 200])
    lo = risk.age_logodds(ages, synth_params.harm)
    assert lo[0] == lo[1] == max(lo)
    assert lo[1] > lo[2] > lo[3] > lo[4]
