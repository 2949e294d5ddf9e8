"""Referrals arrive: the chance a signal becomes a referral, referrals with no recorded signal
behind them, pre-birth referrals, and one referral per child per month.

The chance a recorded signal about a child becomes a referral carries the planted biases
(surveillance by deprivation, disproportionality by ethnic group: :func:`world_bias_offsets`) and
is higher for a child referred in the last 12 months (``referral.known_child``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from secondlook.params import SynthParams
from secondlook.schema import CONCERNS, ETHNICITIES, SOURCES
from secondlook.synth.events import (
    CCODE,
    FACTOR_CONCERN,
    SCODE,
    BoolArray,
    FloatArray,
    IntArray,
    choice_codes,
    logit,
    weighted_choice,
)
from secondlook.synth.risk import sigmoid
from secondlook.synth.state import Month, SimState

__all__ = [
    "Arrivals",
    "Candidates",
    "arrive",
    "background_referrals",
    "prebirth_referrals",
    "referral_chance",
    "world_bias_offsets",
]

#: a referral not triggered by a dated signal falls on one of these days of its month
#: (inclusive range; calendar mechanics, not behaviour)
REFERRAL_DAYS = (1, 26)
#: who makes a pre-birth referral (uniformly)
PREBIRTH_SOURCES = ("health_visitor", "gp", "hospital")
#: a pre-birth referral's concern: the first factor present in this order, else neglect
PREBIRTH_CONCERN_ORDER = ("drug", "domestic_abuse", "mental_health", "alcohol")


def world_bias_offsets(params: SynthParams, decile: IntArray, ethnicity: IntArray) -> FloatArray:
    """The referral log-odds shift the planted biases give each household.

    Zero everywhere when ``bias.surveillance`` and every ``bias.disproportionality`` are zero.
    """
    b = params.bias
    dispro: Mapping[str, float] = b.disproportionality
    return np.asarray(
        b.surveillance * (10 - decile) / 9.0 + np.array([dispro[e] for e in ETHNICITIES])[ethnicity]
    )


def referral_chance(s: SimState, month: Month, p: float, kids: IntArray) -> FloatArray:
    """Chance a signal about ``kids`` becomes a referral: biases and being known count."""
    hh = s.pop.child_household[kids]
    return sigmoid(logit(p) + s.referral_bias[hh] + month.referral_boost[kids])


class Candidates:
    """The month's candidate referrals (child, day, source, concern, bruising in a baby)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("child", "day", "source", "concern", "bruise")
        }

    def add(
        self,
        kids: IntArray,
        day: IntArray | int,
        source: IntArray | str,
        concern: IntArray | str,
        bruise: BoolArray | bool = False,
    ) -> None:
        """Add one candidate per child in ``kids``; scalars are broadcast, names coded."""
        n = len(kids)
        if n == 0:
            return
        self.parts["child"].append(kids)
        self.parts["day"].append(np.broadcast_to(day, (n,)).astype(np.int64))
        src = SCODE[source] if isinstance(source, str) else source
        self.parts["source"].append(np.broadcast_to(src, (n,)).astype(np.int64))
        con = CCODE[concern] if isinstance(concern, str) else concern
        self.parts["concern"].append(np.broadcast_to(con, (n,)).astype(np.int64))
        self.parts["bruise"].append(np.broadcast_to(bruise, (n,)).astype(bool))


class Arrivals:
    """The referrals that arrive in a month: one row each (child, day, source, concern, and
    whether it reports bruising in a non-mobile baby)."""

    def __init__(
        self,
        child: IntArray,
        day: IntArray,
        source: IntArray,
        concern: IntArray,
        bruise: BoolArray,
    ) -> None:
        self.child, self.day, self.source, self.concern, self.bruise = (
            child,
            day,
            source,
            concern,
            bruise,
        )


def background_referrals(
    s: SimState, params: SynthParams, month: Month, kids: IntArray, cands: Candidates
) -> None:
    """Referrals with no recorded signal behind them, gathered in frail households."""
    sg, rng = params.signals, s.rng
    hh = s.pop.child_household[kids]
    p_bg = sigmoid(logit(sg.background_referral) + s.referral_bias[hh] + s.background_shift[hh])
    bg = kids[rng.random(len(kids)) < p_bg]
    bg_src = weighted_choice(rng, tuple(sg.background_sources[k] for k in SOURCES), len(bg))
    bg_con = weighted_choice(rng, tuple(sg.background_concerns[k] for k in CONCERNS), len(bg))
    d_lo, d_hi = REFERRAL_DAYS
    cands.add(bg, month.day + rng.integers(d_lo, d_hi + 1, len(bg)), bg_src, bg_con)


def prebirth_referrals(s: SimState, month: Month, cands: Candidates) -> None:
    """The pre-birth referrals scheduled for this month (see :func:`.agencies.pregnancies`)."""
    pb = np.flatnonzero((s.prebirth_month == month.m) & ~s.removed)
    hh_pb = s.pop.child_household[pb]
    concern = np.full(len(pb), CCODE["neglect"])
    for f in reversed(PREBIRTH_CONCERN_ORDER):
        concern = np.where(s.factors[f][hh_pb], CCODE[FACTOR_CONCERN[f]], concern)
    d_lo, d_hi = REFERRAL_DAYS
    cands.add(
        pb,
        month.day + s.rng.integers(d_lo, d_hi + 1, len(pb)),
        choice_codes(s.rng, SCODE, PREBIRTH_SOURCES, len(pb)),
        concern,
    )


def arrive(cands: Candidates, end_day: int) -> Arrivals:
    """One referral per child per month (the earliest), dated within the world."""
    if cands.parts["child"]:
        ch = np.concatenate(cands.parts["child"])
        dy = np.concatenate(cands.parts["day"])
        order = np.lexsort((dy, ch))
        ch, dy = ch[order], dy[order]
        first = np.r_[True, ch[1:] != ch[:-1]]
        sel = order[first]
        ch = ch[first]
        dy = dy[first]
        srcs = np.concatenate(cands.parts["source"])[sel]
        concs = np.concatenate(cands.parts["concern"])[sel]
        bruises = np.concatenate(cands.parts["bruise"])[sel]
    else:
        ch = dy = srcs = concs = np.zeros(0, dtype=np.int64)
        bruises = np.zeros(0, dtype=bool)
    # referral dates must lie in the world (a day past its end is not)
    ok = dy <= end_day
    return Arrivals(ch[ok], dy[ok], srcs[ok], concs[ok], bruises[ok])
