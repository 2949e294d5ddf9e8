"""The true risk of significant harm and its exact decomposition over the hidden factors.

The 12-month risk of significant harm for a child, if nothing is escalated, is logistic in the
hidden state::

    eta = intercept + age(age_months)                       # the baseline
        + sum_f beta_f * x_f                                 # additive factor effects
        + co_occurrence * [(drug or alcohol) and mental_health and domestic_abuse]

``true_risk_12m = sigmoid(eta)``. The monthly hazard used by the simulation is the constant
hazard with that 12-month risk, ``1 - (1 - sigmoid(eta + escalation)) ** (1 / 12)``, so a state
held for a year gives exactly ``true_risk_12m``.

The drivers are the exact Shapley decomposition of ``eta - baseline`` over the factors, with
"factor absent" (x = 0) as the reference: additive terms go wholly to their factor, and the
co-occurrence term is shared by Shapley's formula among the factors that make it (with one
substance factor present, equally among the three; with both, the two substances share the
substance part). The co-occurrence shares are computed once by enumerating all coalitions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from secondlook.params import HarmParams
from secondlook.schema import FACTORS

FloatArray = npt.NDArray[np.float64]

#: the players of the co-occurrence term, in this order
TRIO = ("drug", "alcohol", "mental_health", "domestic_abuse")


def _trio_value(present: tuple[int, ...]) -> float:
    drug, alcohol, mh, da = present
    return float((drug or alcohol) and mh and da)


def _shapley_trio_table() -> npt.NDArray[np.float64]:
    """Shapley shares of the co-occurrence indicator, for each of the 16 patterns of TRIO.

    Returns
    -------
    ndarray of shape (16, 4)
        Row ``p`` (bits of p: drug=1, alcohol=2, mental_health=4, domestic_abuse=8) holds each
        player's share; each row sums to the indicator's value for that pattern.
    """
    n = len(TRIO)
    table = np.zeros((16, n))
    for pattern in range(16):
        x = tuple((pattern >> i) & 1 for i in range(n))
        for i in range(n):
            others = [j for j in range(n) if j != i]
            share = 0.0
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for coalition in itertools.combinations(others, size):
                    with_i = tuple(x[j] if (j in coalition or j == i) else 0 for j in range(n))
                    without = tuple(x[j] if j in coalition else 0 for j in range(n))
                    share += weight * (_trio_value(with_i) - _trio_value(without))
            table[pattern, i] = share
    return table


TRIO_SHARES = _shapley_trio_table()


def age_logodds(age_months: npt.ArrayLike, harm: HarmParams) -> FloatArray:
    """Log-odds the child's age adds to the harm risk (highest for infants).

    Parameters
    ----------
    age_months
        Age in whole months (negative for an unborn child, who is given the newborn value).
    harm
        The ``synth.harm`` settings.

    Returns
    -------
    ndarray of float64, same shape as ``age_months``
    """
    a = np.asarray(age_months)
    ages = harm.age
    return np.select(
        [a < 6, a < 12, a < 24, a < 60, a < 132],
        [ages.under_6m, ages.under_1y, ages.under_2y, ages.under_5y, ages.under_11y],
        ages.over_11y,
    ).astype(np.float64)


def factor_values(state: Mapping[str, npt.ArrayLike], deprivation_decile: npt.ArrayLike) -> dict:
    """The numeric value of each factor (0/1, deprivation scaled to [0, 1]).

    Parameters
    ----------
    state
        Boolean arrays for every factor in :data:`secondlook.schema.FACTORS` except
        ``deprivation``.
    deprivation_decile
        1 (most deprived) .. 10.

    Returns
    -------
    dict of str to ndarray of float64
    """
    values = {f: np.asarray(state[f], dtype=np.float64) for f in FACTORS if f != "deprivation"}
    values["deprivation"] = (10.0 - np.asarray(deprivation_decile, dtype=np.float64)) / 9.0
    return values


def logodds(
    values: Mapping[str, FloatArray], age_months: npt.ArrayLike, harm: HarmParams
) -> FloatArray:
    """The true 12-month log-odds of significant harm (no escalation effect).

    Parameters
    ----------
    values
        Factor values from :func:`factor_values`.
    age_months
        Child's age in months.
    harm
        The ``synth.harm`` settings.

    Returns
    -------
    ndarray of float64
    """
    beta = harm.beta
    eta = harm.intercept + age_logodds(age_months, harm)
    for f in FACTORS:
        eta = eta + getattr(beta, f) * values[f]
    substance = np.maximum(values["drug"], values["alcohol"])
    trio = substance * values["mental_health"] * values["domestic_abuse"]
    return eta + harm.co_occurrence * trio


def drivers(values: Mapping[str, FloatArray], harm: HarmParams) -> dict[str, FloatArray]:
    """Exact Shapley decomposition of the true log-odds over the hidden factors.

    Parameters
    ----------
    values
        Factor values from :func:`factor_values`.
    harm
        The ``synth.harm`` settings.

    Returns
    -------
    dict of str to ndarray of float64
        One array per factor; their sum equals ``logodds(...) - baseline`` where the baseline is
        ``intercept + age_logodds(age)``.
    """
    out = {f: getattr(harm.beta, f) * np.asarray(values[f], dtype=np.float64) for f in FACTORS}
    pattern = np.zeros(np.shape(values["drug"]), dtype=np.int64)
    for bit, f in enumerate(TRIO):
        pattern |= (np.asarray(values[f]) > 0).astype(np.int64) << bit
    shares = TRIO_SHARES[pattern]
    for i, f in enumerate(TRIO):
        out[f] = out[f] + harm.co_occurrence * shares[..., i]
    return out


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    """The logistic function, 1 / (1 + exp(-x))."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64))))


def monthly_hazard(eta: npt.ArrayLike) -> FloatArray:
    """The constant monthly hazard whose 12-month cumulative risk is ``sigmoid(eta)``."""
    return np.asarray(1.0 - (1.0 - sigmoid(eta)) ** (1.0 / 12.0))
