"""The ``synth:`` section: everything the simulated world is made from."""

from __future__ import annotations

import dataclasses
import types
from typing import Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import (
    CONFIG,
    Date,
    Float,
    FrozenMap,
    Int,
    NonNeg,
    Pos,
    Prob,
    Str,
    rule,
)

__all__ = [
    "HouseholdParams",
    "MarkovParams",
    "FactorParams",
    "AgeParams",
    "BetaParams",
    "HarmParams",
    "SignalParams",
    "ReferralParams",
    "BiasParams",
    "SubstantiationParams",
    "PracticeParams",
    "SynthParams",
]


def _ranges(section: object, *keys: str) -> None:
    """Raise :func:`rule` for the first ``[low, high]`` field of ``section`` with low > high."""
    for key in keys:
        low, high = getattr(section, key)
        if low > high:
            raise rule(key, "must satisfy low <= high")


@dataclass(frozen=True, config=CONFIG)
class HouseholdParams:
    """How households form and who lives in them."""

    children_weights: tuple[Float, Float, Float, Float]
    father_present: Prob
    young_parent: Prob
    earlier_removal: Prob
    disability: Prob
    partner_join: Prob
    partner_leave: Prob
    violent_adult: Prob
    father_violent: Prob
    pregnancy_notice_months: tuple[Int, Int]
    ethnicity_weights: FrozenMap[Str, NonNeg]
    childhood_months: Pos
    birth_gap_months: tuple[Int, Int]
    young_mother_age_years: tuple[Int, Int]
    mother_age_years: tuple[Int, Int]
    father_older_months: tuple[Int, Int]
    partner_older_months: tuple[Int, Int]
    removed_child_age_months: tuple[Int, Int]
    earlier_removal_frailty: Float
    premature: Prob
    premature_with_factor: Prob

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.schema import ETHNICITIES

        if any(w < 0 for w in self.children_weights) or sum(self.children_weights) <= 0:
            raise rule("children_weights", "must be 4 non-negative weights, not all zero")
        lo, hi = self.pregnancy_notice_months
        if not 1 <= lo <= hi <= 9:
            raise rule("pregnancy_notice_months", "must satisfy 1 <= low <= high <= 9")
        _ranges(
            self, "birth_gap_months", "young_mother_age_years", "mother_age_years",
            "father_older_months", "partner_older_months", "removed_child_age_months",
        )  # fmt: skip
        if self.birth_gap_months[0] < 1:
            raise rule("birth_gap_months", "must be at least 1 month")
        if self.removed_child_age_months[0] < 0:
            raise rule("removed_child_age_months", "must be >= 0")
        if self.premature + self.premature_with_factor > 1:
            raise rule("premature_with_factor", "premature + premature_with_factor must be <= 1")
        if set(self.ethnicity_weights) != set(ETHNICITIES):
            raise rule("ethnicity_weights", f"must give a weight for each of {ETHNICITIES}")
        return self


@dataclass(frozen=True, config=CONFIG)
class MarkovParams:
    """Monthly onset and recovery probabilities of one hidden factor."""

    onset: Prob
    recovery: Prob


@dataclass(frozen=True, config=CONFIG)
class FactorParams:
    """The hidden parental factors, each a monthly Markov process."""

    drug: MarkovParams
    alcohol: MarkovParams
    mental_health: MarkovParams
    domestic_abuse: MarkovParams
    frailty_sd: NonNeg
    deprivation_onset: Float


@dataclass(frozen=True, config=CONFIG)
class AgeParams:
    """Log-odds added to the harm hazard by the child's age band."""

    under_6m: Float
    under_1y: Float
    under_2y: Float
    under_5y: Float
    under_11y: Float
    over_11y: Float


@dataclass(frozen=True, config=CONFIG)
class BetaParams:
    """Log-odds of each hidden factor in the 12-month harm risk."""

    drug: Float
    alcohol: Float
    mental_health: Float
    domestic_abuse: Float
    unassessed_violent_adult: Float
    earlier_removal: Float
    young_parent: Float
    deprivation: Float
    disability: Float


@dataclass(frozen=True, config=CONFIG)
class HarmParams:
    """The true risk of significant harm: a logistic model of the hidden state."""

    intercept: Float
    age: AgeParams
    beta: BetaParams
    co_occurrence: Float
    escalation_effect: Float
    protect_months: Pos


@dataclass(frozen=True, config=CONFIG)
class SignalParams:
    """Monthly chances that agencies see and record something."""

    police_domestic: Prob
    adult_service: Prob
    ed_accidental: Prob
    harm_seen: Prob
    bruising_non_mobile: Prob
    accidental_bruise_non_mobile: Prob
    health_visit: Prob
    missed_appointment: Prob
    school_concern: Prob
    background_referral: Prob
    background_concentration: NonNeg
    background_sources: FrozenMap[Str, NonNeg]
    background_concerns: FrozenMap[Str, NonNeg]
    non_mobile_months: Pos
    infant_months: Pos
    school_age_months: tuple[Int, Int]
    harm_seen_as_neglect: Prob
    bruising_seen_by_health_visitor: Prob
    mental_health_crisis: Prob
    adult_service_father: Prob
    drug_seen_by_probation: Prob
    missed_appointment_base: Prob
    school_concern_base: NonNeg

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.schema import CONCERNS, SOURCES

        _ranges(self, "school_age_months")
        for key, names in (("background_sources", SOURCES), ("background_concerns", CONCERNS)):
            weights = getattr(self, key)
            if set(weights) != set(names) or sum(weights.values()) <= 0:
                raise rule(key, f"must give a weight for each of {names}, not all zero")
        if self.missed_appointment_base + self.missed_appointment > 1:
            raise rule("missed_appointment_base", "plus missed_appointment must be <= 1")
        return self


@dataclass(frozen=True, config=CONFIG)
class ReferralParams:
    """Chance that a recorded signal becomes a referral to children's social care."""

    police_domestic: Prob
    adult_service: Prob
    harm_seen: Prob
    school_concern: Prob
    missed_appointment: Prob
    prebirth: Prob
    prebirth_late: Prob
    known_child: NonNeg
    lag_days: tuple[Int, Int]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _ranges(self, "lag_days")
        if self.lag_days[0] < 0:
            raise rule("lag_days", "must be >= 0")
        return self


@dataclass(frozen=True, config=CONFIG)
class BiasParams:
    """Planted biases. Each set to zero switches it off."""

    surveillance: NonNeg
    disproportionality: FrozenMap[Str, Float]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.schema import ETHNICITIES

        if set(self.disproportionality) != set(ETHNICITIES):
            raise rule("disproportionality", f"must give a value for each of {ETHNICITIES}")
        return self


@dataclass(frozen=True, config=CONFIG)
class SubstantiationParams:
    """Log-odds that an s47 enquiry substantiates its concern."""

    intercept: Float
    recent_harm: Float
    true_risk: Float


@dataclass(frozen=True, config=CONFIG)
class PracticeParams:
    """How simulated practice decides referrals, with the failure modes reviews describe."""

    s47_cut: Float
    nfa_cut: Float
    la_sd: NonNeg
    n_local_authorities: Pos
    weight_concern: FrozenMap[Str, Float]
    weight_own_history: Float
    weight_sibling_history: Float
    start_again: Prob
    weight_known_factors: Float
    weight_unassessed_adult: Float
    bruising_missed: Prob
    weight_bruising: Float
    weight_true_risk: Float
    decision_noise: NonNeg
    assess_father: Prob
    factor_found: Prob
    not_in_need_despite_factor: Prob
    icpc: Prob
    plan: Prob
    plan_end: Prob
    removal: Prob
    removal_harm_factor: NonNeg
    removal_earlier_removal: NonNeg
    true_risk_shift: Float
    recent_harm_months: Pos
    neglect_recorded: Prob
    assessment_days: tuple[Int, Int]
    s47_days: tuple[Int, Int]
    conference_days: tuple[Int, Int]
    substantiation: SubstantiationParams
    icpc_substantiated: NonNeg
    icpc_not_substantiated: NonNeg
    icpc_margin: Float
    plan_physical: Prob
    plan_emotional_as_neglect: Prob

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.schema import CONCERNS

        _ranges(self, "assessment_days", "s47_days", "conference_days")
        if set(self.weight_concern) != set(CONCERNS):
            raise rule("weight_concern", f"must give a weight for each of {CONCERNS}")
        if self.nfa_cut >= self.s47_cut:
            raise rule("nfa_cut", "must be below s47_cut")
        if self.n_local_authorities > 99:
            raise rule("n_local_authorities", "must be at most 99")
        return self


@dataclass(frozen=True, config=CONFIG)
class SynthParams:
    """The ``synth:`` section: everything the simulated world is made from."""

    seed: Int
    cohort_seed: Int
    n_households: Pos
    cohort_households: Pos
    history_start: Date
    start: Date
    decisions_from: Date
    end: Date
    follow_up_months: Int
    escalation_threshold: Prob
    vignettes: tuple[Str, ...]
    household: HouseholdParams
    factors: FactorParams
    harm: HarmParams
    signals: SignalParams
    referral: ReferralParams
    bias: BiasParams
    practice: PracticeParams

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.history_start <= self.start:
            raise rule("history_start", "must not be after start")
        if not self.start < self.end:
            raise rule("end", f"must be after start ({self.start})")
        if not self.start <= self.decisions_from < self.end:
            raise rule("decisions_from", "must lie between start and end")
        if self.start.day != 1:
            raise rule("start", "must be the first day of a month")
        if self.follow_up_months < 0:
            raise rule("follow_up_months", "must be >= 0")
        if self.seed == self.cohort_seed:
            raise rule("cohort_seed", "must differ from seed")
        return self

    def without_planted_biases(self) -> SynthParams:
        """The same world (same seed) with its planted referral biases switched off.

        Surveillance bias and every group's disproportionality are set to zero; everything
        else, practice's failure modes included, is unchanged (the ``no-bias`` study's world).
        """
        zero = types.MappingProxyType(dict.fromkeys(self.bias.disproportionality, 0.0))
        bias = dataclasses.replace(self.bias, surveillance=0.0, disproportionality=zero)
        return dataclasses.replace(self, bias=bias)
