"""Seed patterns, many variants each: the Sarah and John patterns and two negative controls.

Two scripted households cannot tell a pattern learned from a household memorised. This module
draws ``n`` variants of each pattern as :class:`~secondlook.synth.vignettes.Vignette` objects --
different dates, ages, counts, referral sources, local authority, ethnicity and deprivation --
and places them with :func:`~secondlook.synth.vignettes.vignette_tables`, so their truth comes
from the world's own risk model. Variants are for scoring only, never for training.

Patterns
--------
``sarah``
    A sibling referred repeatedly over two to three years, none escalated (no further action or
    an assessment that records the substance misuse and closes); parental drug and/or alcohol
    misuse, sometimes mental ill-health; a baby. Marked decisions: the pre-birth referral and the
    first referral after the birth (bruising in a baby not yet mobile).
``john``
    An earlier child removed; a new adult joins and is named in police domestic incidents and
    never assessed; bruising in a non-mobile baby. Marked decision: the bruising referral.
``control_frequent``
    A family often referred (background concerns from school and others) with nothing hidden
    behind it. Every decision is a control decision.
``control_deprived``
    A deprived family with routine health contacts and one routine referral, no hidden risk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from secondlook.errors import TableError, VignetteError
from secondlook.params import SynthParams
from secondlook.schema import ETHNICITIES, validate_tables
from secondlook.synth.vignettes import (
    VEvent,
    VHarm,
    VHousehold,
    Vignette,
    VPerson,
    VTraits,
    vignette_tables,
)

__all__ = [
    "PATTERNS",
    "SEED_PATTERNS",
    "CONTROLS",
    "CONTROL_WORDS",
    "draw_variant",
    "pattern_tables",
]

#: the seed patterns, then the negative controls (the one list: every table of pattern figures
#: -- policy.md, the report, the sweep's headline -- takes its columns from here)
PATTERNS = ("sarah", "john", "control_frequent", "control_deprived")
CONTROLS = ("control_frequent", "control_deprived")
SEED_PATTERNS = tuple(p for p in PATTERNS if p not in CONTROLS)
#: each negative control in a few words (households with nothing that warrants escalation)
CONTROL_WORDS = {"control_frequent": "often referred", "control_deprived": "deprived"}

_LAS = tuple(f"LA{i:02d}" for i in range(1, 9))


def _anchor(rng: np.random.Generator, params: SynthParams) -> dt.date:
    # the baby's birth month: late enough for the history, early enough for the follow-up
    lo = pd.Timestamp(params.decisions_from) + pd.DateOffset(months=40)
    hi = pd.Timestamp(params.end) - pd.DateOffset(months=params.follow_up_months + 8)
    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    return (lo + pd.DateOffset(months=int(rng.integers(0, months + 1)))).date().replace(day=1)


def _people(rng: np.random.Generator, older_months: int) -> dict[str, VPerson]:
    eth = str(rng.choice(np.array(ETHNICITIES)))
    return {
        "mother": VPerson("mother", "F", -int(rng.integers(240, 420)), eth),
        "father": VPerson("father", "M", -int(rng.integers(250, 460)), eth),
        "older": VPerson("child", str(rng.choice(["F", "M"])), -older_months, eth, False),
        "baby": VPerson("child", str(rng.choice(["F", "M"])), 0, eth, False),
    }


def _place(
    rng: np.random.Generator, params: SynthParams, max_decile: int
) -> tuple[dt.date, VHousehold]:
    """The variant's anchor month, then its household: a local authority and a deprivation
    decile below ``max_decile`` (drawn in this order: the draws fix every later one)."""
    anchor = _anchor(rng, params)
    return anchor, VHousehold(str(rng.choice(np.array(_LAS))), int(rng.integers(1, max_decile)))


def _control(
    rng: np.random.Generator,
    name: str,
    title: str,
    params: SynthParams,
    max_decile: int,
    events: list[VEvent],
) -> Vignette:
    """A negative control: a family of four with no hidden state and no harm."""
    anchor, household = _place(rng, params, max_decile)
    return Vignette(
        name=name,
        title=title,
        story="generated",
        anchor=anchor,
        household=household,
        people=_people(rng, int(rng.integers(48, 120))),
        state={},
        traits=VTraits(earlier_removal=False, young_parent=False),
        events=tuple(events),
    )


def _sarah(rng: np.random.Generator, i: int, params: SynthParams) -> tuple[Vignette, list[int]]:
    n_refs = int(rng.integers(4, 9))
    span = int(rng.integers(700, 1100))  # days over which the sibling is referred
    days = np.sort(rng.choice(np.arange(-span, -45), size=n_refs, replace=False))
    substances = [("drug", "drug_treatment", "parental_drug_misuse")]
    if rng.random() < 0.5:
        substances = [("alcohol", "alcohol_treatment", "parental_alcohol_misuse")]
    if rng.random() < 0.3:
        substances.append(("alcohol", "alcohol_treatment", "parental_alcohol_misuse"))
    mental = rng.random() < 0.6
    events: list[VEvent] = []
    sources = ("police", "hospital", "school", "health_visitor", "gp", "adult_services")
    concerns = ("physical_injury", "neglect") + tuple(s[2] for s in substances)
    for d in days:
        concern = str(rng.choice(np.array(concerns)))
        outcome = "nfa" if rng.random() < 0.45 else "assessment"
        events.append(
            VEvent(int(d), "referral", "older", str(rng.choice(np.array(sources))), concern,
                   outcome=outcome)
        )  # fmt: skip
        if outcome == "assessment":
            events.append(VEvent(int(d) + 20, "assessment_completed", "older", "other",
                                 substances[0][2]))  # fmt: skip
            events.append(VEvent(int(d) + 20, "adult_assessed", "mother", "other",
                                 related="older"))  # fmt: skip
    for d in rng.choice(np.arange(-span, -30), size=int(rng.integers(1, 4)), replace=False):
        events.append(VEvent(int(d), "adult_service_contact", str(rng.choice(["mother", "father"])),
                             "adult_services", substances[0][1]))  # fmt: skip
    notified = -int(rng.integers(150, 230))
    prebirth = notified + int(rng.integers(20, 110))
    birth = int(rng.integers(0, 10))
    first_after = birth + int(rng.integers(30, 110))
    events += [
        VEvent(notified, "pregnancy_notified", "mother", "gp", related="baby"),
        VEvent(prebirth, "referral", "baby", str(rng.choice(["gp", "health_visitor", "hospital"])),
               substances[0][2], outcome="assessment"),
        VEvent(prebirth + 20, "assessment_completed", "baby", "other", substances[0][2]),
        VEvent(prebirth + 20, "adult_assessed", "mother", "other", related="baby"),
        VEvent(birth, "birth", "baby", "hospital", "term"),
        VEvent(first_after - 1, "health_contact", "baby", "health_visitor", "bruising_observed"),
        VEvent(first_after, "referral", "baby", "health_visitor", "physical_injury",
               outcome="assessment"),
    ]  # fmt: skip
    start = -int(rng.integers(60, 160))
    state = {s[0]: ((start, 24),) for s in substances}
    if mental:
        state["mental_health"] = ((-int(rng.integers(20, 80)), 24),)
    older = int(rng.integers(36, 90))
    anchor, household = _place(rng, params, 8)
    v = Vignette(
        name=f"pat-sarah-{i:03d}",
        title="Sarah pattern variant",
        story="generated",
        anchor=anchor,
        household=household,
        people=_people(rng, older),
        state=state,
        traits=VTraits(earlier_removal=False, young_parent=False),
        events=tuple(events),
        harm=(VHarm("baby", first_after + int(rng.integers(20, 90))),),
    )
    return v, [prebirth, first_after]


def _john(rng: np.random.Generator, i: int, params: SynthParams) -> tuple[Vignette, list[int]]:
    birth = int(rng.integers(0, 10))
    joined = -int(rng.integers(30, 200))
    notified = -int(rng.integers(120, 200))
    prebirth = -int(rng.integers(5, 40))
    bruise = birth + int(rng.integers(60, 160))
    n_da = int(rng.integers(1, 4))
    da_days = np.sort(rng.choice(np.arange(joined + 10, bruise - 5), size=n_da, replace=False))
    older_months = int(rng.integers(60, 120))
    # the older child is removed some months after its birth, years before the baby
    removed = -older_months * 31 + int(rng.integers(90, 700))
    events = [
        VEvent(removed, "child_removed", "older", "other"),
        VEvent(joined, "adult_joined", "partner", "other"),
        VEvent(notified, "pregnancy_notified", "mother", "gp", related="baby"),
        VEvent(prebirth, "referral", "baby", str(rng.choice(["hospital", "gp", "health_visitor"])),
               "parental_mental_health", outcome="assessment"),
        VEvent(prebirth + 15, "assessment_completed", "baby", "other", "parental_mental_health"),
        VEvent(prebirth + 15, "adult_assessed", "mother", "other", related="baby"),
        VEvent(birth, "birth", "baby", "hospital", str(rng.choice(["term", "premature"]))),
        VEvent(bruise - 1, "health_contact", "baby", "health_visitor", "bruising_observed"),
        VEvent(bruise, "referral", "baby", "health_visitor", "physical_injury", outcome="nfa"),
    ]  # fmt: skip
    for d in da_days:
        events.append(VEvent(int(d), "police_domestic_incident", "mother", "police",
                             related="partner"))  # fmt: skip
    people = _people(rng, older_months)
    people.pop("father")
    people["partner"] = VPerson(
        "partner", "M", -int(rng.integers(240, 420)), people["mother"].ethnicity
    )
    anchor, household = _place(rng, params, 8)
    v = Vignette(
        name=f"pat-john-{i:03d}",
        title="John pattern variant",
        story="generated",
        anchor=anchor,
        household=household,
        people=people,
        state={
            "mental_health": ((-int(rng.integers(40, 100)), 24),),
            "domestic_abuse": ((int(da_days[0]) // 30, 24),),
            "unassessed_violent_adult": ((joined // 30, 24),),
        },
        traits=VTraits(earlier_removal=True, young_parent=False),
        events=tuple(events),
        harm=(VHarm("baby", bruise + int(rng.integers(60, 200))),),
    )
    return v, [bruise]


def _control_frequent(
    rng: np.random.Generator, i: int, params: SynthParams
) -> tuple[Vignette, list[int]]:
    n_refs = int(rng.integers(4, 9))
    days = np.sort(rng.choice(np.arange(-1000, 200), size=n_refs, replace=False))
    events = [
        VEvent(int(d), "referral", str(rng.choice(["older", "baby"])) if d > 30 else "older",
               str(rng.choice(["school", "other", "gp", "police"])),
               str(rng.choice(["other", "emotional", "neglect"])),
               outcome=str(rng.choice(["nfa", "assessment"])))
        for d in days
    ]  # fmt: skip
    events.append(VEvent(int(rng.integers(0, 10)), "birth", "baby", "hospital", "term"))
    title = "Negative control: often referred, nothing behind it"
    v = _control(rng, f"pat-control_frequent-{i:03d}", title, params, 11, events)
    return v, [int(d) for d in days]


def _control_deprived(
    rng: np.random.Generator, i: int, params: SynthParams
) -> tuple[Vignette, list[int]]:
    birth = int(rng.integers(0, 10))
    ref = birth + int(rng.integers(40, 300))
    events = [VEvent(birth, "birth", "baby", "hospital", "term")]
    for d in range(birth + 14, birth + 400, 60):
        events.append(VEvent(d, "health_contact", "baby", "health_visitor", "routine"))
    events.append(VEvent(ref, "referral", "baby", str(rng.choice(["school", "gp", "other"])),
                         str(rng.choice(["other", "neglect"])), outcome="nfa"))  # fmt: skip
    title = "Negative control: deprived, routine contacts, no hidden risk"
    return _control(rng, f"pat-control_deprived-{i:03d}", title, params, 3, events), [ref]


_DRAW: dict[str, Callable[..., tuple[Vignette, list[int]]]] = {
    "sarah": _sarah,
    "john": _john,
    "control_frequent": _control_frequent,
    "control_deprived": _control_deprived,
}


def draw_variant(
    pattern: str, i: int, rng: np.random.Generator, params: SynthParams
) -> tuple[Vignette, list[int]]:
    """One variant of ``pattern`` and the days (from its anchor) of its marked referrals.

    Raises
    ------
    ValueError
        If ``pattern`` is not one of :data:`PATTERNS`.
    """
    if pattern not in _DRAW:
        raise ValueError(f"unknown pattern {pattern!r} (known: {', '.join(PATTERNS)})")
    return _DRAW[pattern](rng, i, params)


def pattern_tables(n: int, seed: int, params: SynthParams) -> dict[str, pd.DataFrame]:
    """``n`` variants of every pattern as canonical tables, with their truth and marks.

    Parameters
    ----------
    n
        Variants per pattern.
    seed
        Seed of the draws (the same seed gives the same tables).
    params
        The ``synth`` settings (window and risk model).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``households``, ``people``, ``events``, ``decisions``, ``truth`` and ``marks``
        (``decision_id``, ``pattern``, ``variant``, ``marked``: the pattern's marked decision).

    Raises
    ------
    VignetteError
        If the variants' tables break the contract (checked once, on their concatenation: the
        variants' identifiers are distinct, so this is at least as strict as one check per
        variant).
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[pd.DataFrame]] = {}
    marks = []
    for pattern in PATTERNS:
        for i in range(n):
            v, marked_days = draw_variant(pattern, i, rng, params)
            tables = vignette_tables(v, params, validate=False)
            for k, t in tables.items():
                parts.setdefault(k, []).append(t)
            ev = tables["events"].set_index("event_id")
            day = (
                pd.to_datetime(ev.loc[tables["decisions"]["referral_event_id"], "date"])
                - pd.Timestamp(v.anchor)
            ).dt.days.to_numpy()
            marks.append(
                pd.DataFrame(
                    {
                        "decision_id": tables["decisions"]["decision_id"].to_numpy(),
                        "pattern": pattern,
                        "variant": v.name,
                        "marked": np.isin(day, marked_days),
                    }
                )
            )
    out = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    try:
        validate_tables(out, (params.history_start, params.end))
    except TableError as exc:
        raise VignetteError(f"pattern variants: their tables break the contract: {exc}") from None
    out["marks"] = pd.concat(marks, ignore_index=True)
    return out
