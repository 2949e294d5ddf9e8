"""The feature catalogue: the single source of what each feature means.

Every feature that :func:`secondlook.features.build_features` computes is declared here, once,
as a :class:`FeatureSpec`: its name, family, a plain-language description, its unit, a reason
template that turns a value into a sentence a review panel can read, the hidden factor of the
synthetic world it is evidence of (named as in the truth table's ``driver_<factor>`` columns),
and whether it is a group attribute (kept out of models unless a study switches it on).

The builder's columns, ``features/catalogue.md``, the explanations and the report all read this
list; a test holds the builder's output to exactly these names, in this order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Literal

from secondlook.schema import CONCERNS, FACTORS, SOURCES

__all__ = [
    "CATALOGUE",
    "CONCERN_WORDS",
    "LINKS",
    "DIRECTIONS",
    "PRACTICE_FEATURES",
    "FAMILIES",
    "SOURCE_WORDS",
    "NO_REFERRAL_DAYS",
    "NON_MOBILE_MONTHS",
    "FeatureSpec",
    "catalogue_version",
    "directions",
    "feature_names",
    "render_markdown",
    "reason_text",
    "spec",
]

Unit = Literal["months", "days", "count", "yes/no", "decile"]
Direction = Literal["raises", "lowers", "either"]
Kind = Literal["signal", "practice"]
#: the directions a feature may declare, and the sign a monotone constraint gives each
DIRECTIONS: dict[str, int] = {"raises": 1, "lowers": -1, "either": 0}

#: ``days_since_last_referral`` when the child has no earlier referral (also its cap)
NO_REFERRAL_DAYS = 9999
#: a baby is counted as not yet mobile below this age in completed months
NON_MOBILE_MONTHS = 6

#: family -> heading used in the catalogue and the report's data dictionary
FAMILIES: dict[str, str] = {
    "child": "The child",
    "history": "This child's history",
    "siblings": "The siblings' history",
    "household": "Household and agency signals",
    "adults": "Adults in the household",
    "pregnancy": "Pregnancy",
    "referral": "The current referral",
    "group": "Group attributes (not model inputs unless a study switches them on)",
}


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One feature: what it measures and how to say it in words.

    Attributes
    ----------
    name
        Column name in the feature tables.
    family
        One of :data:`FAMILIES`.
    description
        What the feature measures, in plain language, including its point-in-time window.
    unit
        ``months``, ``days``, ``count``, ``yes/no`` (0/1) or ``decile``.
    reason
        Template for a reason sentence; ``{value}`` is replaced by the formatted value, and
        each ``[one|many]`` by ``one`` when the value is 1, else by ``many`` (number
        agreement: ``"{value} [adult was|adults were] living in the household"``).
    evidence_of
        The hidden factor (one of :data:`secondlook.schema.FACTORS`) the feature is evidence
        of, or ``None``.
    group_attribute
        True for attributes that describe a group rather than the case (never a model input
        unless a study asks for it).
    reason_zero
        Sentence used when the value is 0 (for yes/no features: the "no" sentence).
    sentinel
        A value that means "none recorded" (e.g. no earlier referral), or ``None``.
    reason_sentinel
        Sentence used when the value equals ``sentinel``.
    needs
        What a data source must record for the feature to be computed: event types of
        :data:`secondlook.schema.EVENT_TYPES` and links (:data:`LINKS`). A view of the record
        (:mod:`secondlook.features.views`) that lacks any of them leaves the feature out.
    direction
        Which way guidance allows the feature to move a score as its value rises: ``raises``,
        ``lowers`` or ``either`` (see :data:`DIRECTIONS`). Filled from :data:`POLICY`.
    kind
        ``signal`` (something that happened to or around the child) or ``practice`` (what
        practice decided: no further action, assessment, s47 outcome, plan).
    why
        One sentence of why, for every ``raises`` or ``lowers`` feature.
    clean_value
        The feature's value in the clean-record reference (nothing recorded), or ``None`` when
        the reference takes the most common value in the training data (the child's own
        characteristics, the household's adults, the referral's source and concern).
    """

    name: str
    family: str
    description: str
    unit: Unit
    reason: str
    evidence_of: str | None = None
    group_attribute: bool = False
    reason_zero: str | None = None
    sentinel: int | None = None
    reason_sentinel: str | None = None
    needs: tuple[str, ...] = ()
    direction: Direction = "either"
    kind: Kind = "signal"
    why: str | None = None
    clean_value: float | None = None


_DRIVER_OF_CONCERN: dict[str, str | None] = {
    "physical_injury": None,
    "neglect": None,
    "domestic_abuse": "domestic_abuse",
    "parental_drug_misuse": "drug",
    "parental_alcohol_misuse": "alcohol",
    "parental_mental_health": "mental_health",
    "emotional": None,
    "sexual": None,
    "other": None,
}

#: adult service contact detail -> short name used in the feature name
ADULT_CONTACT_KINDS: dict[str, str] = {
    "drug_treatment": "drug",
    "alcohol_treatment": "alcohol",
    "mental_health_crisis": "mental_health_crisis",
    "mental_health_treatment": "mental_health_treatment",
    "probation": "probation",
}
_DRIVER_OF_CONTACT: dict[str, str | None] = {
    "drug": "drug",
    "alcohol": "alcohol",
    "mental_health_crisis": "mental_health",
    "mental_health_treatment": "mental_health",
    "probation": None,
}
#: concerns an assessment may record as a factor that the features look for
ASSESSMENT_FACTORS = (
    "parental_drug_misuse",
    "parental_alcohol_misuse",
    "parental_mental_health",
    "domestic_abuse",
    "neglect",
)


def _words(concern: str) -> str:
    return concern.replace("_", " ")


#: each referral concern of :data:`secondlook.schema.CONCERNS` in words that read after "for"
#: or "about" (``sexual`` alone is not a concern a reader can name)
CONCERN_WORDS: dict[str, str] = {
    "physical_injury": "physical injury",
    "neglect": "neglect",
    "domestic_abuse": "domestic abuse",
    "parental_drug_misuse": "parental drug misuse",
    "parental_alcohol_misuse": "parental alcohol misuse",
    "parental_mental_health": "parental mental ill-health",
    "emotional": "emotional abuse",
    "sexual": "sexual abuse",
    "other": "another kind of concern",
}
#: each referral source of :data:`secondlook.schema.SOURCES` in words that read after "from"
SOURCE_WORDS: dict[str, str] = {
    "police": "the police",
    "health_visitor": "a health visitor",
    "gp": "a GP",
    "hospital": "a hospital",
    "school": "a school",
    "probation": "the probation service",
    "adult_services": "adult social care services",
    "housing": "a housing service",
    "self_family": "the child or the family themselves",
    "anonymous": "an anonymous referrer",
    "other": "another source",
}
assert set(CONCERN_WORDS) == set(CONCERNS), "every concern needs its words"
assert set(SOURCE_WORDS) == set(SOURCES), "every source needs its words"


def _yes_no(
    name: str, family: str, description: str, yes: str, no: str, evidence_of: str | None = None
) -> FeatureSpec:
    return FeatureSpec(name, family, description, "yes/no", yes, evidence_of, reason_zero=no)


def _count(
    name: str,
    family: str,
    description: str,
    reason: str,
    zero: str,
    evidence_of: str | None = None,
) -> FeatureSpec:
    return FeatureSpec(name, family, description, "count", reason, evidence_of, reason_zero=zero)


def _build() -> tuple[FeatureSpec, ...]:
    specs: list[FeatureSpec] = [
        # --- the child ---------------------------------------------------------------------
        FeatureSpec(
            "age_months",
            "child",
            "Age in completed calendar months on the decision date (0 for an unborn child).",
            "months",
            "the child was {value} [month|months] old",
            reason_zero="the child was under one month old or not yet born",
        ),
        _yes_no(
            "unborn",
            "child",
            "The referral is about an unborn child (the decision precedes the expected birth "
            "month).",
            "the referral was about an unborn child",
            "the child was already born",
        ),
        _yes_no(
            "not_yet_mobile",
            "child",
            f"A born baby under {NON_MOBILE_MONTHS} months old, taken as not yet mobile.",
            "the baby was not yet mobile",
            "the child was not a non-mobile baby",
        ),
        _yes_no(
            "disability",
            "child",
            "The child has a recorded disability.",
            "the child has a disability",
            "no disability is recorded for the child",
            "disability",
        ),
    ]
    # --- this child's history ----------------------------------------------------------------
    for months in (3, 12, 36):
        specs.append(
            _count(
                f"referrals_{months}m",
                "history",
                f"Earlier referrals about this child in the {months} months before the decision "
                "date (the current referral excluded).",
                f"{{value}} earlier [referral|referrals] about this child in the last {months} "
                "months",
                f"no earlier referrals about this child in the last {months} months",
            )
        )
    for concern in CONCERNS:
        specs.append(
            _count(
                f"referrals_36m_{concern}",
                "history",
                f"Earlier referrals about this child whose concern was {_words(concern)}, in the "
                "36 months before the decision date.",
                f"{{value}} earlier [referral|referrals] about this child for "
                f"{CONCERN_WORDS[concern]} in the last 36 months",
                f"no earlier referrals about this child for {CONCERN_WORDS[concern]} in the last "
                "36 months",
                _DRIVER_OF_CONCERN[concern],
            )
        )
    specs += [
        FeatureSpec(
            "days_since_last_referral",
            "history",
            f"Days since this child's most recent earlier referral; {NO_REFERRAL_DAYS} when "
            f"there is none (and the cap for longer gaps).",
            "days",
            "the previous referral about this child was {value} [day|days] earlier",
            sentinel=NO_REFERRAL_DAYS,
            reason_sentinel="no earlier referral about this child is recorded",
        ),
        _count(
            "prior_nfa",
            "history",
            "Earlier referrals about this child that ended in no further action (outcomes "
            "recorded before the decision date).",
            "{value} earlier [referral|referrals] about this child ended in no further action",
            "no earlier referral about this child ended in no further action",
        ),
        _count(
            "prior_assessment",
            "history",
            "Earlier referrals about this child that led to a social work assessment.",
            "{value} earlier [referral|referrals] about this child led to an assessment",
            "no earlier referral about this child led to an assessment",
        ),
        _count(
            "prior_s47",
            "history",
            "Earlier referrals about this child that led to a child protection (s47) enquiry.",
            "{value} earlier child protection [enquiry|enquiries] about this child",
            "no earlier child protection enquiry about this child",
        ),
        _count(
            "prior_s47_substantiated",
            "history",
            "Earlier child protection enquiries about this child concluded as substantiated.",
            "{value} earlier child protection [enquiry|enquiries] about this child "
            "[was|were] substantiated",
            "no earlier child protection enquiry about this child was substantiated",
        ),
        _yes_no(
            "cp_plan_ever",
            "history",
            "This child was on a child protection plan at some time before the decision date.",
            "the child has been on a child protection plan before",
            "the child has never been on a child protection plan",
        ),
        _yes_no(
            "cp_plan_active",
            "history",
            "This child is on a child protection plan on the decision date (a plan started and "
            "not yet ended).",
            "the child is on a child protection plan now",
            "the child is not on a child protection plan now",
        ),
    ]
    # --- the siblings' history ---------------------------------------------------------------
    # the counterparts of this child's history, counted over the other children of the household
    for months in (3, 12, 36):
        specs.append(
            _count(
                f"sibling_referrals_{months}m",
                "siblings",
                f"Referrals about the other children of the household in the {months} months "
                "before the decision date.",
                f"{{value}} [referral about a sibling|referrals about siblings] in the last "
                f"{months} months",
                f"no referrals about siblings in the last {months} months",
            )
        )
    for concern in CONCERNS:
        specs.append(
            _count(
                f"sibling_referrals_36m_{concern}",
                "siblings",
                f"Referrals about the other children of the household whose concern was "
                f"{_words(concern)}, in the 36 months before the decision date.",
                f"{{value}} [referral about a sibling|referrals about siblings] for "
                f"{CONCERN_WORDS[concern]} in the last 36 months",
                f"no referrals about siblings for {CONCERN_WORDS[concern]} in the last 36 months",
                _DRIVER_OF_CONCERN[concern],
            )
        )
    specs += [
        FeatureSpec(
            "days_since_sibling_referral",
            "siblings",
            f"Days since the most recent earlier referral about another child of the household; "
            f"{NO_REFERRAL_DAYS} when there is none (and the cap for longer gaps).",
            "days",
            "the previous referral about a sibling was {value} [day|days] earlier",
            sentinel=NO_REFERRAL_DAYS,
            reason_sentinel="no earlier referral about a sibling is recorded",
        ),
        _count(
            "sibling_prior_nfa",
            "siblings",
            "Earlier referrals about the other children of the household that ended in no "
            "further action (outcomes recorded before the decision date).",
            "{value} earlier [referral about a sibling|referrals about siblings] ended in no "
            "further action",
            "no earlier referral about a sibling ended in no further action",
        ),
        _count(
            "sibling_prior_assessment",
            "siblings",
            "Earlier referrals about the other children of the household that led to a social "
            "work assessment.",
            "{value} earlier [referral about a sibling|referrals about siblings] led to an "
            "assessment",
            "no earlier referral about a sibling led to an assessment",
        ),
        _count(
            "sibling_prior_s47",
            "siblings",
            "Earlier referrals about the other children of the household that led to a child "
            "protection (s47) enquiry.",
            "{value} earlier child protection [enquiry about a sibling|enquiries about siblings]",
            "no referral about a sibling was ever escalated to a child protection enquiry",
        ),
        _count(
            "sibling_prior_s47_substantiated",
            "siblings",
            "Earlier child protection enquiries about the other children of the household "
            "concluded as substantiated.",
            "{value} earlier child protection [enquiry about a sibling was|enquiries about "
            "siblings were] substantiated",
            "no earlier child protection enquiry about a sibling was substantiated",
        ),
        _yes_no(
            "sibling_cp_plan_ever",
            "siblings",
            "Another child of the household was on a child protection plan at some time before "
            "the decision date.",
            "a sibling has been on a child protection plan before",
            "no sibling has ever been on a child protection plan",
        ),
        _yes_no(
            "sibling_ever_removed",
            "siblings",
            "Another child of the household was removed into care before the decision date "
            "(including removals recorded before the simulated window).",
            "a sibling was removed into care earlier",
            "no sibling has been removed into care",
            "earlier_removal",
        ),
        _yes_no(
            "sibling_on_plan",
            "siblings",
            "Another child of the household is on a child protection plan on the decision date.",
            "a sibling is on a child protection plan now",
            "no sibling is on a child protection plan now",
        ),
    ]
    # --- household and agency signals --------------------------------------------------------
    for months in (12, 36):
        specs.append(
            _count(
                f"police_domestic_{months}m",
                "household",
                f"Police reports of domestic incidents in the household in the {months} months "
                "before the decision date.",
                f"{{value}} police [report of a domestic incident|reports of domestic incidents] "
                f"in the household in the last {months} months",
                f"no police report of a domestic incident in the household in the last {months} "
                "months",
                "domestic_abuse",
            )
        )
    for detail, kind in ADULT_CONTACT_KINDS.items():
        specs.append(
            _count(
                f"adult_contacts_{kind}_36m",
                "household",
                f"Adult service contacts of kind {_words(detail)} for adults of the household "
                "in the 36 months before the decision date.",
                f"{{value}} {_words(detail)} [contact for an adult|contacts for adults] in the "
                "household in the last 36 months",
                f"no {_words(detail)} contacts for adults in the household in the last 36 months",
                _DRIVER_OF_CONTACT[kind],
            )
        )
    for concern in ASSESSMENT_FACTORS:
        specs.append(
            _yes_no(
                f"assessment_found_{concern}",
                "household",
                f"An earlier assessment of a child in the household recorded "
                f"{_words(concern)} as a factor.",
                f"an earlier assessment in the household recorded {CONCERN_WORDS[concern]}",
                f"no earlier assessment in the household recorded {CONCERN_WORDS[concern]}",
                _DRIVER_OF_CONCERN[concern],
            )
        )
    specs += [
        _count(
            "ed_attendances_12m",
            "household",
            "This child's emergency department attendances in the 12 months before the "
            "decision date.",
            "{value} emergency department [attendance|attendances] for the child in the last "
            "12 months",
            "no emergency department attendance for the child in the last 12 months",
        ),
        _count(
            "unexplained_injuries_12m",
            "household",
            "This child's emergency department attendances in the last 12 months for an injury "
            "without an accidental explanation (unexplained injury, bruising, fracture or "
            "burn).",
            "{value} [injury|injuries] without an accidental explanation in the last 12 months",
            "no injury without an accidental explanation in the last 12 months",
        ),
        _yes_no(
            "bruising_non_mobile",
            "household",
            f"Bruising was recorded (emergency department or health contact) while this child "
            f"was under {NON_MOBILE_MONTHS} months old, before the decision date.",
            "bruising was recorded while the baby was not yet mobile",
            "no bruising was recorded while the child was a non-mobile baby",
        ),
        _count(
            "missed_appointments_12m",
            "household",
            "This child's missed health appointments in the 12 months before the decision date.",
            "{value} missed health [appointment|appointments] in the last 12 months",
            "no missed health appointments in the last 12 months",
        ),
        _count(
            "school_concerns_12m",
            "household",
            "Concerns raised by this child's school in the 12 months before the decision date.",
            "{value} school [concern|concerns] in the last 12 months",
            "no school concerns in the last 12 months",
        ),
    ]
    # --- adults ------------------------------------------------------------------------------
    specs += [
        _count(
            "adults_joined_12m",
            "adults",
            "Adults who joined the household in the 12 months before the decision date.",
            "{value} [adult|adults] joined the household in the last 12 months",
            "no adult joined the household in the last 12 months",
            "unassessed_violent_adult",
        ),
        _count(
            "adults_present",
            "adults",
            "Adults living in the household the day before the decision: mother and father "
            "unless recorded as having left, other adults from when they joined until they left.",
            "{value} [adult was|adults were] living in the household",
            "no adult was recorded as living in the household",
        ),
        _yes_no(
            "unassessed_adult_present",
            "adults",
            "A father, partner or other adult living in the household has never been included "
            "in an assessment before the decision date.",
            "an adult living in the household has never been assessed",
            "every adult besides the mother living in the household has been assessed",
            "unassessed_violent_adult",
        ),
        _yes_no(
            "unassessed_adult_named_in_da",
            "adults",
            "An adult named as the alleged perpetrator in a police report of a domestic "
            "incident in the household has never been included in an assessment.",
            "an adult named in domestic abuse reports has never been assessed",
            "no unassessed adult is named in domestic abuse reports",
            "unassessed_violent_adult",
        ),
    ]
    # --- pregnancy ---------------------------------------------------------------------------
    specs += [
        _yes_no(
            "unborn_earlier_removal",
            "pregnancy",
            "The referral is about an unborn child and another child of the household was "
            "removed into care earlier.",
            "an unborn child in a household where a child was removed before",
            "not an unborn child in a household with an earlier removal",
            "earlier_removal",
        ),
        FeatureSpec(
            "months_notification_to_prebirth_referral",
            "pregnancy",
            "For a pre-birth referral: calendar months from the pregnancy notification to the "
            "referral (0 when not a pre-birth referral or no notification is recorded).",
            "months",
            "the pre-birth referral came {value} [month|months] after the pregnancy was notified",
            reason_zero="not a pre-birth referral made after a pregnancy notification",
        ),
        FeatureSpec(
            "months_prebirth_referral_before_due",
            "pregnancy",
            "For a pre-birth referral: calendar months between the referral and the expected "
            "birth month (0 when not a pre-birth referral, or in the month of the birth).",
            "months",
            "the pre-birth referral came {value} [month|months] before the due date",
            reason_zero="not a pre-birth referral made before the month of the due date",
        ),
    ]
    # --- the current referral ----------------------------------------------------------------
    for source in SOURCES:
        specs.append(
            _yes_no(
                f"source_{source}",
                "referral",
                f"The current referral was made by {SOURCE_WORDS[source]}.",
                f"the referral came from {SOURCE_WORDS[source]}",
                f"the referral did not come from {SOURCE_WORDS[source]}",
            )
        )
    for concern in CONCERNS:
        specs.append(
            _yes_no(
                f"concern_{concern}",
                "referral",
                f"The current referral's primary concern is {_words(concern)}.",
                f"the referral is about {CONCERN_WORDS[concern]}",
                f"the referral is not about {CONCERN_WORDS[concern]}",
                _DRIVER_OF_CONCERN[concern],
            )
        )
    # --- group attribute ---------------------------------------------------------------------
    specs.append(
        FeatureSpec(
            "deprivation_decile",
            "group",
            "Deprivation decile of the household's area (1 = most deprived). A group attribute: "
            "a model input only when a study sets features.include_deprivation.",
            "decile",
            "the household lives in deprivation decile {value}",
            "deprivation",
            group_attribute=True,
        )
    )
    return tuple(specs)


#: links between records a feature may need besides event types: ``household`` (which children
#: share a family), ``adults`` (the adults of the household as people), ``deprivation`` (an
#: address-based decile), ``disability`` (the child's recorded disability)
LINKS = ("household", "adults", "deprivation", "disability")
_PLAN = ("cp_plan_started", "cp_plan_ended")
_ADULTS_PRESENT = ("adults", "household", "adult_joined", "adult_left")
#: (feature-name pattern, needs), first match wins: the one place that says what each needs
_NEEDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"^(age_months|unborn|not_yet_mobile|months_prebirth_referral_before_due)$", ("referral",)),
    (r"^disability$", ("disability",)),
    (r"^sibling_referrals_|^days_since_sibling_referral$", ("referral", "household")),
    (r"^sibling_prior_s47_substantiated$", ("s47_concluded", "household")),
    (r"^sibling_prior_", ("referral_outcome", "household")),
    (r"^sibling_cp_plan_ever$", ("cp_plan_started", "household")),
    (r"^sibling_on_plan$", (*_PLAN, "household")),
    (r"^sibling_ever_removed$|^unborn_earlier_removal$", ("child_removed", "household")),
    (r"^referrals_|^days_since_last_referral$|^source_|^concern_", ("referral",)),
    (r"^prior_s47_substantiated$", ("s47_concluded",)),
    (r"^prior_", ("referral_outcome",)),
    (r"^cp_plan_ever$", ("cp_plan_started",)),
    (r"^cp_plan_active$", _PLAN),
    (r"^police_domestic_", ("police_domestic_incident", "household")),
    (r"^adult_contacts_", ("adult_service_contact", "adults", "household")),
    (r"^assessment_found_", ("assessment_completed", "household")),
    (r"^ed_attendances_|^unexplained_injuries_", ("ed_attendance",)),
    (r"^bruising_non_mobile$", ("ed_attendance", "health_contact")),
    (r"^missed_appointments_", ("health_contact",)),
    (r"^school_concerns_", ("school_concern",)),
    (r"^adults_joined_", ("adult_joined", "household")),
    (r"^adults_present$", _ADULTS_PRESENT),
    (r"^unassessed_adult_present$", (*_ADULTS_PRESENT, "adult_assessed")),
    (r"^unassessed_adult_named_in_da$", ("police_domestic_incident", "adults", "adult_assessed")),
    (r"^months_notification_to_prebirth_referral$", ("pregnancy_notified", "adults")),
    (r"^deprivation_decile$", ("deprivation",)),
)


def _needs(name: str) -> tuple[str, ...]:
    import re

    for pattern, needs in _NEEDS:
        if re.search(pattern, name):
            return needs
    raise AssertionError(f"feature `{name}` has no entry in _NEEDS")


# --- the policy on reasons: direction and kind of every feature ---------------------------------
#: practice's own decisions about this child and its siblings (what practice decided)
PRACTICE_FEATURES = (
    "prior_nfa",
    "prior_assessment",
    "prior_s47",
    "prior_s47_substantiated",
    "cp_plan_ever",
    "cp_plan_active",
    "sibling_prior_nfa",
    "sibling_prior_assessment",
    "sibling_prior_s47",
    "sibling_prior_s47_substantiated",
    "sibling_cp_plan_ever",
    "sibling_on_plan",
)

_WHY_PRACTICE: dict[str, str] = {
    "prior_nfa": "A referral that ended in no further action is still a referral: serious case "
    "reviews warn against reading earlier decisions not to act as reassurance.",
    "prior_assessment": "An earlier referral judged to need an assessment is a recorded concern; "
    "more of them cannot lessen it.",
    "prior_s47": "An earlier child protection enquiry means practice once suspected significant "
    "harm.",
    "prior_s47_substantiated": "A substantiated enquiry is a finding of significant harm.",
    "cp_plan_ever": "A child who has been on a plan has been found at risk of significant harm "
    "before.",
    "sibling_prior_nfa": "Guidance asks practice to read the siblings' history: their referrals "
    "that ended without action are not evidence that this child is safe.",
    "sibling_prior_assessment": "A sibling's assessed referral is a concern about the same "
    "household.",
    "sibling_prior_s47": "An enquiry about a sibling means significant harm was suspected in the "
    "same household.",
    "sibling_prior_s47_substantiated": "A sibling's substantiated enquiry is a finding of "
    "significant harm in the same household.",
    "sibling_cp_plan_ever": "Guidance: a sibling on a plan, now or before, can only raise concern "
    "about the household.",
    "sibling_on_plan": "Guidance: a sibling on a plan can only raise concern about the household.",
}

_WHY_FAMILY: dict[str, str] = {
    "history": "More referrals about the child, or referrals for this concern, can only raise "
    "concern (guidance on cumulative concern).",
    "siblings": "Referrals about siblings are concerns about the same household; guidance asks "
    "practice to read them, never to start again.",
    "household": "Guidance: recorded incidents, contacts, injuries and factors about the household "
    "can only raise concern.",
}

_WHY_NAMED: dict[str, str] = {
    "disability": "Guidance: disabled children face a higher risk of abuse and neglect.",
    "days_since_last_referral": "A more recent earlier referral is a more current concern; "
    "the none value is the far end of the scale.",
    "days_since_sibling_referral": "A more recent referral about a sibling is a more current "
    "concern; the none value is the far end of the scale.",
    "adults_joined_12m": "Guidance: a new adult in the household is a risk to be assessed.",
    "unassessed_adult_present": "Guidance: an adult living with the child whom no one has "
    "assessed is an unknown risk.",
    "unassessed_adult_named_in_da": "An adult named in domestic abuse reports whom no one has "
    "assessed is a risk nobody has weighed.",
    "sibling_ever_removed": "Guidance: a sibling removed into care can only raise concern about "
    "a later child.",
    "unborn_earlier_removal": "Guidance: an unborn child of a mother who had a child removed "
    "needs a pre-birth assessment.",
}

#: features guidance does not order (child characteristics, the referral's own source and
#: concern, the adults living there, pre-birth timing, group attributes)
_EITHER = ("child", "referral", "group")
_EITHER_NAMED = (
    "age_months",
    "unborn",
    "not_yet_mobile",
    "cp_plan_active",
    "adults_present",
    "months_notification_to_prebirth_referral",
    "months_prebirth_referral_before_due",
)
#: the clean-record reference keeps these at their most common value (not "nothing recorded")
_CHARACTERISTIC_FAMILIES = ("child", "referral", "group")
_CHARACTERISTIC_NAMED = ("adults_present",)


def _with_policy(s: FeatureSpec) -> FeatureSpec:
    kind: Kind = "practice" if s.name in PRACTICE_FEATURES else "signal"
    direction: Direction
    why: str | None
    if s.name in _EITHER_NAMED or (s.family in _EITHER and s.name != "disability"):
        direction, why = "either", None
    elif s.name in ("days_since_last_referral", "days_since_sibling_referral"):
        direction, why = "lowers", _WHY_NAMED[s.name]
    else:
        direction = "raises"
        why = _WHY_PRACTICE.get(s.name) or _WHY_NAMED.get(s.name) or _WHY_FAMILY.get(s.family)
        if why is None and s.family == "pregnancy":
            why = _WHY_NAMED["unborn_earlier_removal"]
    if s.family in _CHARACTERISTIC_FAMILIES or s.name in _CHARACTERISTIC_NAMED:
        clean: float | None = None
    elif s.sentinel is not None:
        clean = float(s.sentinel)
    else:
        clean = 0.0
    return dataclasses.replace(s, direction=direction, kind=kind, why=why, clean_value=clean)


#: every feature, in the builder's column order
CATALOGUE: tuple[FeatureSpec, ...] = tuple(
    dataclasses.replace(_with_policy(s), needs=_needs(s.name)) for s in _build()
)
_BY_NAME: dict[str, FeatureSpec] = {s.name: s for s in CATALOGUE}
assert len(_BY_NAME) == len(CATALOGUE), "feature names must be unique"
assert all(s.family in FAMILIES for s in CATALOGUE)
assert all(s.evidence_of is None or s.evidence_of in FACTORS for s in CATALOGUE)
assert all(s.why for s in CATALOGUE if s.direction != "either"), "every raises/lowers needs a why"
assert set(PRACTICE_FEATURES) <= set(_BY_NAME)


def feature_names() -> list[str]:
    """The catalogue's feature names, in column order.

    Returns
    -------
    list of str
    """
    return [s.name for s in CATALOGUE]


def spec(name: str) -> FeatureSpec:
    """The catalogue entry of one feature.

    Parameters
    ----------
    name
        A feature name.

    Returns
    -------
    FeatureSpec

    Raises
    ------
    KeyError
        If ``name`` is not in the catalogue (the message lists the nearest names).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        near = [n for n in _BY_NAME if n.split("_")[0] == name.split("_")[0]][:5]
        raise KeyError(f"`{name}` is not in the feature catalogue (similar: {near})") from None


def directions(columns: list[str]) -> dict[str, int]:
    """The monotone sign guidance allows each column: +1 raises, -1 lowers, 0 either.

    Parameters
    ----------
    columns
        Model inputs; columns outside the catalogue (e.g. ethnicity indicators) get 0.

    Returns
    -------
    dict of str to int
    """
    return {c: DIRECTIONS[_BY_NAME[c].direction] if c in _BY_NAME else 0 for c in columns}


def catalogue_version() -> str:
    """A short content hash of the catalogue (changes whenever any entry changes).

    Returns
    -------
    str
        Twelve hexadecimal characters.
    """
    payload = json.dumps([dataclasses.asdict(s) for s in CATALOGUE], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _format(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


#: ``[one|many]`` in a reason template: the words for a value of 1, and for any other value
_NUMBER = re.compile(r"\[([^|\]]*)\|([^\]]*)\]")


def _agree(template: str, one: bool) -> str:
    """``template`` with each ``[one|many]`` resolved for a value that is (not) 1."""
    return _NUMBER.sub(lambda m: m.group(1) if one else m.group(2), template)


def reason_text(name: str, value: float) -> str:
    """The plain-language reason sentence for a feature at a value.

    Parameters
    ----------
    name
        A feature name from :data:`CATALOGUE`.
    value
        The feature's value for the case.

    Returns
    -------
    str
        E.g. ``reason_text("sibling_referrals_36m", 7)`` is
        ``"7 referrals about siblings in the last 36 months"``.
    """
    s = spec(name)
    if s.sentinel is not None and s.reason_sentinel is not None and value >= s.sentinel:
        return s.reason_sentinel
    if value == 0 and s.reason_zero is not None:
        return s.reason_zero
    if s.unit == "yes/no":
        return s.reason
    return _agree(s.reason, value == 1).format(value=_format(value))


def render_markdown() -> str:
    """Render the catalogue as the markdown document ``features/catalogue.md``.

    Returns
    -------
    str
        A heading, the catalogue version and one table per family.
    """

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Feature catalogue",
        "",
        f"Generated from `secondlook.features.catalogue` (version `{catalogue_version()}`); "
        "do not edit by hand.",
        "",
        "Every feature is computed at the decision date from events dated strictly before it, "
        "plus the current referral's own source and concern; never from the referral's outcome "
        "or anything later. `evidence of` names the hidden factor of the synthetic world "
        "(`driver_<factor>` in the truth table) the feature is a signal of.",
        "",
        "`direction` is the policy on reasons: which way guidance allows a feature to move a "
        "score as its value rises (`raises`, `lowers`, or `either` where guidance does not "
        "order it); the `guidance` training policy (`train.policy`) enforces it as a monotone "
        "constraint. `kind` says whether a feature is a `signal` (something that happened to or "
        "around the child) or a `practice` feature (what practice decided: no further action, "
        "assessment, s47 outcome, plan); `features.practice_features: exclude` trains on "
        "signals only.",
        "",
        f"{len(CATALOGUE)} features.",
    ]
    for family, heading in FAMILIES.items():
        members = [s for s in CATALOGUE if s.family == family]
        if not members:
            continue
        lines += [
            "",
            f"## {heading}",
            "",
            "| feature | unit | description | reason | evidence of | direction | kind | why |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for s in members:
            lines.append(
                f"| `{s.name}` | {s.unit} | {cell(s.description)} | {cell(_agree(s.reason, False))} | "
                f"{s.evidence_of or '—'} | {s.direction} | {s.kind} | {cell(s.why or '—')} |"
            )
    return "\n".join(lines) + "\n"
