"""The monthly simulation of households known (or not yet known) to children's social care.

:func:`simulate` is pure: settings and a seed in, a :class:`World` of arrays out. It is
vectorised over people with numpy; the only Python loop is over months (an event's effect on
the next month — an escalation lowering the hazard, an assessment making an adult "assessed" —
needs the months in order).

What one month does, in order:

1. transient partners join and leave households (adult_joined / adult_left);
2. the hidden parental factors move (monthly Markov onset and recovery, with a household
   frailty and a deprivation effect on onset; domestic abuse only while a violent adult lives
   there); a violent adult nobody has assessed is a factor of its own;
3. each child's hazard of significant harm is drawn from the true risk (:mod:`.risk`), lowered
   while the child is protected by a recent s47 enquiry or a plan; the uniform draws are kept so
   the potential outcome without escalation can be drawn with common random numbers;
4. agencies record what they see, each with a detection probability: police domestic incidents,
   adult service contacts, hospital attendances (most injuries accidental), health visitor
   contacts for infants (including bruising in a non-mobile baby), school concerns, births and
   pregnancy notifications;
5. some of those records become referrals; the chance carries the planted biases (surveillance
   by deprivation, disproportionality by ethnic group); plus background referrals with no signal
   behind them, and pre-birth referrals for unborn children in households with known risk;
6. practice decides each referral (:func:`practice_outcomes`), with the failure modes of the
   serious case reviews, and its consequences follow: assessments that find some of the
   factors and assess fathers only sometimes, s47 enquiries, conferences, plans, removals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from secondlook.params import SynthParams
from secondlook.schema import CONCERNS, ETHNICITIES, EVENT_DETAILS, OUTCOMES, SOURCES
from secondlook.synth.risk import factor_values, logodds, monthly_hazard, sigmoid

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ROLE_CODES = ("child", "mother", "father", "partner", "other_adult")
PARENT_FACTORS = ("drug", "alcohol", "mental_health", "domestic_abuse")
#: the concern an assessment records for each parental factor
FACTOR_CONCERN = {
    "drug": "parental_drug_misuse",
    "alcohol": "parental_alcohol_misuse",
    "mental_health": "parental_mental_health",
    "domestic_abuse": "domestic_abuse",
}
_ASSESS_BITS = (
    "domestic_abuse",
    "parental_mental_health",
    "parental_drug_misuse",
    "parental_alcohol_misuse",
    "neglect",
    "physical_injury",
)


def _detail_vocab() -> list[str]:
    vocab: list[str] = []
    for allowed in EVENT_DETAILS.values():
        for d in allowed or ():
            if d not in vocab:
                vocab.append(d)
    return vocab


DETAILS = _detail_vocab()
# assessment factor combinations, bitmask over _ASSESS_BITS -> ';'-joined in CONCERNS order
_COMBO_CODE = np.full(64, -1, dtype=np.int64)
for _mask in range(1, 64):
    _names = [c for c in CONCERNS if c in _ASSESS_BITS and _mask >> _ASSESS_BITS.index(c) & 1]
    _text = ";".join(_names)
    if _text not in DETAILS:
        DETAILS.append(_text)
    _COMBO_CODE[_mask] = DETAILS.index(_text)
_DCODE = {d: i for i, d in enumerate(DETAILS)}
_SCODE = {s: i for i, s in enumerate(SOURCES)}
_CCODE = {c: i for i, c in enumerate(CONCERNS)}
TYPES = tuple(EVENT_DETAILS)
_TCODE = {t: i for i, t in enumerate(TYPES)}


@dataclasses.dataclass
class World:
    """A simulated world as arrays (ids are integer indexes; :mod:`.tables` names them).

    Attributes
    ----------
    start_month
        ``numpy.datetime64`` month of simulation month 0.
    n_months
        Number of simulated months.
    households
        Columns ``local_authority`` (int), ``deprivation_decile``, ``ethnicity`` (int code),
        ``earlier_removal``, ``young_parent`` (bool).
    people
        Columns ``household``, ``role``, ``sex`` (int codes), ``birth_month`` (month index,
        relative to ``start_month``), ``disability`` (-1 adult, 0, 1).
    events
        Columns ``household``, ``person``, ``day`` (days since 1970-01-01), ``type``, ``source``,
        ``detail`` (code into :data:`DETAILS`, -1 none), ``related`` (person, -1 none),
        ``outcome`` (referrals only: index into OUTCOMES, else -1), ``ref_index`` (referrals:
        row into ``referrals``, else -1).
    referrals
        One row per referral: ``child`` (index into ``children``), ``month``, ``eta`` (true
        log-odds at the decision), the state of every factor, ``age``.
    children
        ``person`` per child row; ``eta``, ``u``, ``harm``, ``protected`` are
        (n_children, n_months) panels.
    diagnostics
        Monthly counts used by the calibration summary.
    """

    start_month: np.datetime64
    n_months: int
    households: dict[str, np.ndarray]
    people: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    referrals: dict[str, np.ndarray]
    children: dict[str, np.ndarray]
    diagnostics: dict[str, np.ndarray]


class _Events:
    """Accumulates event columns month by month as lists of arrays."""

    COLS = ("household", "person", "day", "type", "source", "detail", "related", "ref_index")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {c: [] for c in self.COLS}

    def add(
        self,
        household: IntArray,
        person: IntArray,
        day: IntArray,
        etype: str,
        source: IntArray | str,
        detail: IntArray | str | None = None,
        related: IntArray | None = None,
        ref_index: IntArray | None = None,
    ) -> None:
        n = len(person)
        if n == 0:
            return

        def col(v: np.ndarray | int) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()

        self.parts["household"].append(col(household))
        self.parts["person"].append(col(person))
        self.parts["day"].append(col(day))
        self.parts["type"].append(col(_TCODE[etype]))
        self.parts["source"].append(col(_SCODE[source] if isinstance(source, str) else source))
        if detail is None:
            self.parts["detail"].append(col(-1))
        elif isinstance(detail, str):
            self.parts["detail"].append(col(_DCODE[detail]))
        else:
            self.parts["detail"].append(col(detail))
        self.parts["related"].append(col(-1 if related is None else related))
        self.parts["ref_index"].append(col(-1 if ref_index is None else ref_index))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            c: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64))
            for c, v in self.parts.items()
        }


def _logit(p: float | FloatArray) -> FloatArray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.asarray(np.log(p / (1 - p)))


def _choice(rng: np.random.Generator, options: tuple[str, ...], probs: tuple, n: int) -> IntArray:
    p = np.asarray(probs, dtype=np.float64)
    return rng.choice(len(options), size=n, p=p / p.sum()).astype(np.int64)


def practice_outcomes(
    rng: np.random.Generator,
    params: SynthParams,
    *,
    concern: IntArray,
    own_history: FloatArray,
    sibling_history: FloatArray,
    known_factors: FloatArray,
    bruising_non_mobile: BoolArray,
    eta: FloatArray,
    unassessed_adult: BoolArray,
    la_offset: FloatArray,
) -> IntArray:
    """How simulated practice decides referrals (index into OUTCOMES).

    A latent score weighs the current concern heavily, reads the child's own recent history,
    reads the siblings' history and the factors found by earlier assessments only when it does
    not "start again", perceives part of the real risk, gives unassessed adults the weight
    ``weight_unassessed_adult`` (none by default: adults never assessed are not considered), and
    sometimes lets bruising in a non-mobile baby pass. Local authorities differ in threshold.

    Parameters
    ----------
    rng
        The world's random generator.
    params
        The ``synth`` settings (``params.practice`` is used).
    concern, own_history, sibling_history, known_factors, bruising_non_mobile, eta,
    unassessed_adult, la_offset
        One value per referral.

    Returns
    -------
    ndarray of int64
        0 = nfa, 1 = assessment, 2 = s47.
    """
    pr = params.practice
    n = len(concern)
    w_concern = np.array([pr.weight_concern[c] for c in CONCERNS])
    reads_history = rng.random(n) >= pr.start_again
    bruise_seen = bruising_non_mobile & (rng.random(n) >= pr.bruising_missed)
    score = (
        w_concern[concern]
        + pr.weight_own_history * own_history
        + reads_history * (pr.weight_sibling_history * sibling_history)
        + reads_history * (pr.weight_known_factors * known_factors)
        + pr.weight_bruising * bruise_seen
        + pr.weight_true_risk * (eta + 4.0)
        + pr.weight_unassessed_adult * unassessed_adult
    )
    latent = score + rng.logistic(size=n)
    outcome = np.ones(n, dtype=np.int64)
    outcome[latent < pr.nfa_cut + la_offset] = 0
    outcome[latent > pr.s47_cut + la_offset] = 2
    return outcome


def _month_days(start_month: np.datetime64, months: IntArray) -> IntArray:
    m = (start_month + months.astype("timedelta64[M]")).astype("datetime64[D]")
    return m.astype(np.int64)


def simulate(
    params: SynthParams, seed: int, n_households: int, *, keep_panels: bool = True
) -> World:
    """Simulate a world of ``n_households`` households month by month.

    Parameters
    ----------
    params
        The ``synth`` settings.
    seed
        Seed of the world's random generator (``synth.seed`` or ``synth.cohort_seed``).
    n_households
        Households drawn; those whose children are all adults before the window are dropped.
    keep_panels
        Keep the (children x months) panels of log-odds, draws and harm (needed for truth).

    Returns
    -------
    World
    """
    rng = np.random.default_rng(seed)
    hp, fp, hz, sg, rf, pr = (
        params.household,
        params.factors,
        params.harm,
        params.signals,
        params.referral,
        params.practice,
    )
    start_month = np.datetime64(params.start, "M")
    n_months = int((np.datetime64(params.end, "M") - start_month).astype(int)) + 1
    history_day = np.datetime64(params.history_start, "D").astype(np.int64)
    start_day = np.datetime64(params.start, "D").astype(np.int64)
    end_day = np.datetime64(params.end, "D").astype(np.int64)

    # --- households and their children ---------------------------------------------------
    nh = n_households
    n_kids = 1 + _choice(rng, ("1", "2", "3", "4"), hp.children_weights, nh)
    first_birth = rng.integers(-216, n_months, size=nh)
    gaps = rng.integers(12, 49, size=(nh, 4))
    gaps[:, 0] = 0
    births = first_birth[:, None] + np.cumsum(gaps, axis=1)
    slot = np.arange(4)[None, :]
    keep_child = (slot < n_kids[:, None]) & (births + 216 > 0) & (births < n_months)
    has_child = keep_child.any(axis=1)
    # drop households with no child in the window
    idx = np.flatnonzero(has_child)
    nh = len(idx)
    births, keep_child, first_birth = births[idx], keep_child[idx], first_birth[idx]
    la = rng.integers(0, pr.n_local_authorities, size=nh)
    decile = rng.integers(1, 11, size=nh)
    eth_w = np.array([hp.ethnicity_weights[e] for e in ETHNICITIES])
    eth = rng.choice(len(ETHNICITIES), size=nh, p=eth_w / eth_w.sum())
    frailty = rng.normal(0.0, fp.frailty_sd, size=nh)
    young = rng.random(nh) < hp.young_parent
    earlier_removal = rng.random(nh) < hp.earlier_removal * np.exp(0.5 * frailty) / np.exp(0.125)
    father_present = rng.random(nh) < hp.father_present
    father_violent = father_present & (rng.random(nh) < hp.father_violent)

    # people: mothers, fathers, children, earlier-removed children, then partners as they come
    p_hh: list[np.ndarray] = []
    p_role: list[np.ndarray] = []
    p_sex: list[np.ndarray] = []
    p_birth: list[np.ndarray] = []
    p_dis: list[np.ndarray] = []
    n_people = 0

    def add_people(
        hh: IntArray, role: int, sex: npt.ArrayLike, birth: npt.ArrayLike, dis: npt.ArrayLike
    ) -> IntArray:
        nonlocal n_people
        ids = np.arange(n_people, n_people + len(hh), dtype=np.int64)
        n_people += len(hh)
        p_hh.append(hh.astype(np.int64))
        p_role.append(np.full(len(hh), role, dtype=np.int64))
        p_sex.append(np.asarray(sex, dtype=np.int64))
        p_birth.append(np.asarray(birth, dtype=np.int64))
        p_dis.append(np.asarray(dis, dtype=np.int64))
        return ids

    hh_all = np.arange(nh, dtype=np.int64)
    mother_age = np.where(
        young, rng.integers(16 * 12, 20 * 12, nh), rng.integers(20 * 12, 41 * 12, nh)
    )
    mother = add_people(hh_all, 1, np.zeros(nh), first_birth - mother_age, np.full(nh, -1))
    father = np.full(nh, -1, dtype=np.int64)
    fh = np.flatnonzero(father_present)
    father[fh] = add_people(
        fh,
        2,
        np.ones(len(fh)),
        first_birth[fh] - mother_age[fh] - rng.integers(0, 72, len(fh)),
        np.full(len(fh), -1),
    )
    c_hh = np.repeat(hh_all, 4)[keep_child.ravel()]
    c_birth = births.ravel()[keep_child.ravel()]
    nc = len(c_hh)
    c_dis = (rng.random(nc) < hp.disability).astype(np.int64)
    c_person = add_people(c_hh, 0, rng.integers(0, 2, nc), c_birth, c_dis)
    lo, hi = hp.pregnancy_notice_months
    c_notified = c_birth - rng.integers(lo, hi + 1, nc)
    c_removed = np.zeros(nc, dtype=bool)

    ev = _Events()
    # earlier removals, dated between history_start and the window's start
    er = np.flatnonzero(earlier_removal)
    rem_day = rng.integers(history_day, start_day, size=len(er))
    rem_month = (rem_day.astype("datetime64[D]").astype("datetime64[M]") - start_month).astype(
        np.int64
    )
    rem_birth = rem_month - rng.integers(0, 48, len(er))
    rem_person = add_people(er, 0, rng.integers(0, 2, len(er)), rem_birth, np.zeros(len(er)))
    ev.add(er, rem_person, rem_day, "child_removed", "other")

    # --- state ----------------------------------------------------------------------------
    state = {f: np.zeros(nh, dtype=bool) for f in PARENT_FACTORS}
    onset_shift = frailty + fp.deprivation_onset * (10 - decile) / 9.0
    onset_lo = {
        f: _logit(getattr(fp, f).onset) + onset_shift for f in ("drug", "alcohol", "mental_health")
    }
    for f in ("drug", "alcohol", "mental_health"):
        p_on = sigmoid(onset_lo[f])
        rec = getattr(fp, f).recovery
        state[f] = rng.random(nh) < p_on / (p_on + rec)
    da_lo = _logit(fp.domestic_abuse.onset) + onset_shift
    partner = np.full(nh, -1, dtype=np.int64)
    partner_violent = np.zeros(nh, dtype=bool)
    assessed = np.zeros(0, dtype=bool)  # per person, grown as people are added
    known_mask = np.zeros(nh, dtype=np.int64)  # factors found by earlier assessments
    la_offset = rng.normal(0.0, pr.la_sd, size=pr.n_local_authorities)
    referral_bias = world_bias_offsets(params, decile, eth)
    # background concerns gather in some households (their frailty), as repeat referrals do;
    # the shift keeps the mean rate at signals.background_referral
    bg_conc = sg.background_concentration
    bg_shift = bg_conc * frailty - 0.5 * (bg_conc * fp.frailty_sd) ** 2

    on_plan = np.zeros(nc, dtype=bool)
    plan_cat = np.full(nc, -1, dtype=np.int64)
    protect_until = np.full(nc, -1, dtype=np.int64)
    ring = np.zeros((nc, 12), dtype=np.int64)  # referrals per month, last 12 months
    prebirth_month = np.full(nc, -(10**6), dtype=np.int64)
    recent_harm = np.full(nc, -(10**6), dtype=np.int64)  # month of last harm

    panel_shape = (nc, n_months) if keep_panels else (0, 0)
    eta_panel = np.zeros(panel_shape)
    u_panel = np.zeros(panel_shape)
    harm_panel = np.zeros(panel_shape, dtype=bool)
    prot_panel = np.zeros(panel_shape, dtype=bool)

    ref_parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in ("child", "month", "eta", "age", "concern", "source", "outcome", "day")
        + tuple(
            f"state_{f}"
            for f in (
                "drug",
                "alcohol",
                "mental_health",
                "domestic_abuse",
                "unassessed_violent_adult",
            )
        )
    }
    n_refs = 0
    diag: dict[str, list[np.ndarray]] = {
        k: [] for k in ("children", "on_plan", "on_plan_under1", "on_plan_unborn")
    }
    harm_parts: dict[str, list[np.ndarray]] = {"child": [], "month": [], "any_trio_factor": []}
    w_concern_idx = {c: i for i, c in enumerate(CONCERNS)}
    plan_categories = ("neglect", "physical", "emotional", "sexual")
    cat_code = np.array([_DCODE[c] for c in plan_categories])
    outcome_code = np.array([_DCODE[o] for o in OUTCOMES])

    known = np.zeros(nc)  # log-odds boost for children referred in the last 12 months

    def p_ref(p: float, kids: IntArray) -> FloatArray:
        """Chance a signal about ``kids`` becomes a referral: biases and being known count."""
        return sigmoid(_logit(p) + referral_bias[c_hh[kids]] + known[kids])

    for m in range(n_months):
        mday = int(_month_days(start_month, np.array([m]))[0])
        # agencies refer children already known to children's social care more readily
        known = rf.known_child * (ring.sum(axis=1) > 0)

        # 1. partners join and leave
        n_before = n_people
        if len(assessed) < n_people:
            assessed = np.concatenate([assessed, np.zeros(n_people - len(assessed), dtype=bool)])
        leaving = np.flatnonzero((partner >= 0) & (rng.random(nh) < hp.partner_leave))
        ev.add(
            leaving,
            partner[leaving],
            mday + rng.integers(0, 28, len(leaving)),
            "adult_left",
            "other",
        )
        partner[leaving] = -1
        partner_violent[leaving] = False
        can_join = (partner < 0) & ~father_present
        joining = np.flatnonzero(can_join & (rng.random(nh) < hp.partner_join))
        if len(joining):
            pid = add_people(
                joining,
                3,
                np.ones(len(joining)),
                first_birth[joining] - mother_age[joining] - rng.integers(-60, 120, len(joining)),
                np.full(len(joining), -1),
            )
            partner[joining] = pid
            partner_violent[joining] = rng.random(len(joining)) < hp.violent_adult
            ev.add(joining, pid, mday + rng.integers(0, 28, len(joining)), "adult_joined", "other")
        if n_people > n_before:
            assessed = np.concatenate([assessed, np.zeros(n_people - len(assessed), dtype=bool)])

        # 2. hidden factors
        violent = father_violent | partner_violent
        perpetrator = np.where(father_violent, father, np.where(partner_violent, partner, -1))
        for f in ("drug", "alcohol", "mental_health"):
            r = rng.random(nh)
            on = ~state[f] & (r < sigmoid(onset_lo[f]))
            off = state[f] & (r < getattr(fp, f).recovery)
            state[f] = (state[f] | on) & ~off
        r = rng.random(nh)
        da_on = ~state["domestic_abuse"] & violent & (r < sigmoid(da_lo))
        da_off = state["domestic_abuse"] & (r < fp.domestic_abuse.recovery)
        state["domestic_abuse"] = violent & ((state["domestic_abuse"] | da_on) & ~da_off)
        unassessed = violent & ~assessed[np.maximum(perpetrator, 0)]

        # 3. harm
        c_age = m - c_birth
        born = (c_age >= 0) & (c_age < 216) & ~c_removed
        values = factor_values(
            {
                "drug": state["drug"][c_hh],
                "alcohol": state["alcohol"][c_hh],
                "mental_health": state["mental_health"][c_hh],
                "domestic_abuse": state["domestic_abuse"][c_hh],
                "unassessed_violent_adult": unassessed[c_hh],
                "earlier_removal": earlier_removal[c_hh],
                "young_parent": young[c_hh],
                "disability": c_dis,
            },
            decile[c_hh],
        )
        eta = logodds(values, c_age, hz)
        protected = on_plan | (protect_until >= m)
        u = rng.random(nc)
        harm = born & (u < monthly_hazard(eta + hz.escalation_effect * protected))
        if keep_panels:
            eta_panel[:, m], u_panel[:, m], harm_panel[:, m], prot_panel[:, m] = (
                eta,
                u,
                harm,
                protected,
            )
        recent_harm[harm] = m
        hc = np.flatnonzero(harm)
        harm_parts["child"].append(hc)
        harm_parts["month"].append(np.full(len(hc), m))
        trio_any = (
            state["drug"] | state["alcohol"] | state["mental_health"] | state["domestic_abuse"]
        )
        harm_parts["any_trio_factor"].append(trio_any[c_hh[hc]])

        # plans end, removals
        plan_kids = np.flatnonzero(on_plan & (c_age >= 0))
        r = rng.random(len(plan_kids))
        p_remove = pr.removal * np.where(harm[plan_kids], 4.0, 1.0)
        removed = plan_kids[r < p_remove]
        ended = plan_kids[(r >= p_remove) & (r < p_remove + pr.plan_end)]
        for kids in (ended, removed):
            ev.add(
                c_hh[kids],
                c_person[kids],
                mday + rng.integers(0, 28, len(kids)),
                "cp_plan_ended",
                "other",
                cat_code[plan_cat[kids]],
            )
        day_rm = mday + 27
        ev.add(
            c_hh[removed],
            c_person[removed],
            np.full(len(removed), day_rm),
            "child_removed",
            "other",
        )
        on_plan[ended] = False
        on_plan[removed] = False
        c_removed[removed] = True
        born &= ~c_removed

        # births and pregnancies
        newborn = np.flatnonzero(c_birth == m)
        premature = rng.random(len(newborn)) < 0.07 + 0.06 * trio_any[c_hh[newborn]]
        ev.add(
            c_hh[newborn],
            c_person[newborn],
            mday + rng.integers(0, 28, len(newborn)),
            "birth",
            "hospital",
            np.where(premature, _DCODE["premature"], _DCODE["term"]),
        )
        notified = np.flatnonzero(c_notified == m)
        ev.add(
            c_hh[notified],
            mother[c_hh[notified]],
            mday + rng.integers(0, 20, len(notified)),
            "pregnancy_notified",
            _choice_src(rng, ("gp", "health_visitor", "hospital"), len(notified)),
            None,
            c_person[notified],
        )
        # decide now whether (and when) a pre-birth referral will come
        nh_ = c_hh[notified]
        risk_known = earlier_removal[nh_] | (known_mask[nh_] != 0) | (on_plan[notified])
        will = risk_known & (rng.random(len(notified)) < p_ref(rf.prebirth, notified))
        late = rng.random(len(notified)) < rf.prebirth_late
        span = np.maximum(c_birth[notified] - 1 - (m + 1), 0)
        when = np.where(
            late,
            c_birth[notified] - 1,
            m + 1 + (rng.random(len(notified)) * (span + 1)).astype(np.int64),
        )
        when = np.maximum(when, m + 1)
        prebirth_month[notified[will]] = when[will]

        # 4-5. signals and the referrals they cause
        cand_child: list[np.ndarray] = []
        cand_day: list[np.ndarray] = []
        cand_src: list[np.ndarray] = []
        cand_concern: list[np.ndarray] = []
        cand_bruise: list[np.ndarray] = []

        def candidates(
            kids: IntArray,
            day: IntArray,
            src: IntArray | str,
            concern: IntArray | str,
            bruise: BoolArray | bool = False,
            cand_child: list[np.ndarray] = cand_child,
            cand_day: list[np.ndarray] = cand_day,
            cand_src: list[np.ndarray] = cand_src,
            cand_concern: list[np.ndarray] = cand_concern,
            cand_bruise: list[np.ndarray] = cand_bruise,
        ) -> None:
            n = len(kids)
            if n == 0:
                return
            cand_child.append(kids)
            cand_day.append(np.broadcast_to(day, (n,)).astype(np.int64))
            cand_src.append(
                np.broadcast_to(_SCODE[src] if isinstance(src, str) else src, (n,)).astype(np.int64)
            )
            cand_concern.append(
                np.broadcast_to(
                    w_concern_idx[concern] if isinstance(concern, str) else concern, (n,)
                ).astype(np.int64)
            )
            cand_bruise.append(np.broadcast_to(bruise, (n,)).astype(bool))

        # harm seen by an agency
        seen = hc[rng.random(len(hc)) < sg.harm_seen]
        seen = seen[born[seen]]
        age_s = c_age[seen]
        day = mday + rng.integers(0, 24, len(seen))
        kind = rng.random(len(seen))
        non_mobile = age_s < 6
        bruise = non_mobile & (kind < sg.bruising_non_mobile)
        school_age = age_s >= 60
        neglect_kind = ~bruise & (kind > 0.6)
        # bruising in a non-mobile baby: health visitor or hospital
        b = seen[bruise]
        hv = rng.random(len(b)) < 0.5
        ev.add(
            c_hh[b[hv]],
            c_person[b[hv]],
            day[bruise][hv],
            "health_contact",
            "health_visitor",
            "bruising_observed",
        )
        ev.add(
            c_hh[b[~hv]],
            c_person[b[~hv]],
            day[bruise][~hv],
            "ed_attendance",
            "hospital",
            "bruising",
        )
        # injuries to older children at hospital
        inj = ~bruise & ~neglect_kind & ~school_age
        k = seen[inj]
        ev.add(
            c_hh[k],
            c_person[k],
            day[inj],
            "ed_attendance",
            "hospital",
            np.array([_DCODE[d] for d in ("injury_unexplained", "fracture", "burn", "ingestion")])[
                rng.integers(0, 4, len(k))
            ],
        )
        sch = ~bruise & school_age
        s = seen[sch]
        ev.add(
            c_hh[s],
            c_person[s],
            day[sch],
            "school_concern",
            "school",
            np.array([_DCODE["disclosure"], _DCODE["presentation"]])[rng.integers(0, 2, len(s))],
        )
        ng = ~bruise & neglect_kind & ~school_age
        g = seen[ng]
        ev.add(
            c_hh[g], c_person[g], day[ng], "health_contact", "health_visitor", "faltering_growth"
        )
        refer = rng.random(len(seen)) < p_ref(rf.harm_seen, seen)
        src = np.where(
            bruise,
            np.where(rng.random(len(seen)) < 0.5, _SCODE["health_visitor"], _SCODE["hospital"]),
            np.where(
                school_age & ~bruise,
                _SCODE["school"],
                np.where(ng, _SCODE["health_visitor"], _SCODE["hospital"]),
            ),
        )
        conc = np.where(
            sch,
            np.array([_CCODE["emotional"], _CCODE["sexual"], _CCODE["neglect"]])[
                rng.integers(0, 3, len(seen))
            ],
            np.where(ng, _CCODE["neglect"], _CCODE["physical_injury"]),
        )
        candidates(
            seen[refer],
            day[refer] + rng.integers(1, 4, refer.sum()),
            src[refer],
            conc[refer],
            bruise[refer],
        )

        # accidents and illness at hospital; accidental bruising in non-mobile babies
        kids = np.flatnonzero(born)
        acc = kids[rng.random(len(kids)) < sg.ed_accidental]
        ev.add(
            c_hh[acc],
            c_person[acc],
            mday + rng.integers(0, 28, len(acc)),
            "ed_attendance",
            "hospital",
            np.array([_DCODE[d] for d in ("injury_explained", "illness", "illness", "ingestion")])[
                rng.integers(0, 4, len(acc))
            ],
        )
        nm = kids[c_age[kids] < 6]
        ab = nm[rng.random(len(nm)) < sg.accidental_bruise_non_mobile]
        d_ab = mday + rng.integers(0, 24, len(ab))
        ev.add(c_hh[ab], c_person[ab], d_ab, "ed_attendance", "hospital", "bruising")
        r_ab = rng.random(len(ab)) < p_ref(rf.harm_seen, ab)
        candidates(ab[r_ab], d_ab[r_ab] + 1, "hospital", "physical_injury", True)

        # police domestic incidents: each child in the household may be referred
        da_hh = np.flatnonzero(state["domestic_abuse"] & (rng.random(nh) < sg.police_domestic))
        inc_day = mday + rng.integers(0, 24, nh)
        ev.add(
            da_hh,
            mother[da_hh],
            inc_day[da_hh],
            "police_domestic_incident",
            "police",
            None,
            perpetrator[da_hh],
        )
        incident = np.zeros(nh, dtype=bool)
        incident[da_hh] = True
        kids_da = kids[incident[c_hh[kids]]]
        refer_da = rng.random(len(kids_da)) < p_ref(rf.police_domestic, kids_da)
        kd = kids_da[refer_da]
        candidates(kd, inc_day[c_hh[kd]] + rng.integers(1, 4, len(kd)), "police", "domestic_abuse")

        # adult services see parental drug, alcohol and mental health problems
        for f, detail, concern in (
            ("drug", "drug_treatment", "parental_drug_misuse"),
            ("alcohol", "alcohol_treatment", "parental_alcohol_misuse"),
            ("mental_health", "mental_health_treatment", "parental_mental_health"),
        ):
            seen_hh = np.flatnonzero(state[f] & (rng.random(nh) < sg.adult_service))
            if f == "mental_health":
                det = np.where(
                    rng.random(len(seen_hh)) < 0.3, _DCODE["mental_health_crisis"], _DCODE[detail]
                )
            else:
                det = np.full(len(seen_hh), _DCODE[detail])
            subj = np.where(
                (father[seen_hh] >= 0) & (rng.random(len(seen_hh)) < 0.35),
                father[seen_hh],
                mother[seen_hh],
            )
            cday = mday + rng.integers(0, 24, nh)
            # some drug misuse is seen by probation, recorded as a probation contact
            on_probation = (f == "drug") & (rng.random(len(seen_hh)) < 0.2)
            srcs = np.where(on_probation, _SCODE["probation"], _SCODE["adult_services"])
            det = np.where(on_probation, _DCODE["probation"], det)
            ev.add(seen_hh, subj, cday[seen_hh], "adult_service_contact", srcs, det)
            flag = np.zeros(nh, dtype=bool)
            flag[seen_hh] = True
            src_hh = np.full(nh, _SCODE["adult_services"])
            src_hh[seen_hh] = srcs
            kk = kids[flag[c_hh[kids]]]
            kk = kk[rng.random(len(kk)) < p_ref(rf.adult_service, kk)]
            candidates(kk, cday[c_hh[kk]] + rng.integers(1, 4, len(kk)), src_hh[c_hh[kk]], concern)

        # health visitors see infants; families with a factor miss appointments more
        inf = kids[c_age[kids] < 24]
        hv_day = mday + rng.integers(0, 24, len(inf))
        routine = rng.random(len(inf)) < sg.health_visit
        ev.add(
            c_hh[inf[routine]],
            c_person[inf[routine]],
            hv_day[routine],
            "health_contact",
            "health_visitor",
            "routine",
        )
        p_miss = 0.01 + sg.missed_appointment * trio_any[c_hh[inf]]
        miss = rng.random(len(inf)) < p_miss
        ev.add(
            c_hh[inf[miss]],
            c_person[inf[miss]],
            hv_day[miss],
            "health_contact",
            "health_visitor",
            "missed_appointment",
        )
        rm = miss & (rng.random(len(inf)) < p_ref(rf.missed_appointment, inf))
        candidates(inf[rm], hv_day[rm] + rng.integers(1, 4, rm.sum()), "health_visitor", "neglect")

        # schools see school-age children
        sc = kids[(c_age[kids] >= 60) & (c_age[kids] < 192)]
        n_f = sum(state[f][c_hh[sc]].astype(np.int64) for f in PARENT_FACTORS)
        sc_hit = rng.random(len(sc)) < sg.school_concern * (0.3 + n_f)
        s_k = sc[sc_hit]
        s_day = mday + rng.integers(0, 24, len(s_k))
        ev.add(
            c_hh[s_k],
            c_person[s_k],
            s_day,
            "school_concern",
            "school",
            np.array([_DCODE["attendance"], _DCODE["presentation"]])[rng.integers(0, 2, len(s_k))],
        )
        rs = rng.random(len(s_k)) < p_ref(rf.school_concern, s_k)
        candidates(
            s_k[rs],
            s_day[rs] + rng.integers(1, 4, rs.sum()),
            "school",
            np.array([_CCODE["neglect"], _CCODE["emotional"], _CCODE["other"], _CCODE["neglect"]])[
                rng.integers(0, 4, rs.sum())
            ],
        )

        # background referrals with no recorded signal behind them
        # concentrated in some households (their frailty), as repeat referrals are
        p_bg = sigmoid(
            _logit(sg.background_referral) + referral_bias[c_hh[kids]] + bg_shift[c_hh[kids]]
        )
        bg = kids[rng.random(len(kids)) < p_bg]
        bg_src = _choice(
            rng,
            SOURCES,
            (0.20, 0.06, 0.07, 0.05, 0.24, 0.01, 0.01, 0.05, 0.13, 0.09, 0.09),
            len(bg),
        )
        bg_con = _choice(
            rng, CONCERNS, (0.10, 0.25, 0.08, 0.03, 0.02, 0.04, 0.16, 0.02, 0.30), len(bg)
        )
        candidates(bg, mday + rng.integers(1, 27, len(bg)), bg_src, bg_con)

        # pre-birth referrals scheduled for this month
        pb = np.flatnonzero((prebirth_month == m) & ~c_removed)
        hh_pb = c_hh[pb]
        pb_con = np.where(
            state["drug"][hh_pb],
            _CCODE["parental_drug_misuse"],
            np.where(
                state["domestic_abuse"][hh_pb],
                _CCODE["domestic_abuse"],
                np.where(
                    state["mental_health"][hh_pb],
                    _CCODE["parental_mental_health"],
                    np.where(
                        state["alcohol"][hh_pb],
                        _CCODE["parental_alcohol_misuse"],
                        _CCODE["neglect"],
                    ),
                ),
            ),
        )
        candidates(
            pb,
            mday + rng.integers(1, 27, len(pb)),
            _choice_src(rng, ("health_visitor", "gp", "hospital"), len(pb)),
            pb_con,
        )

        # one referral per child per month: the earliest
        if cand_child:
            ch = np.concatenate(cand_child)
            dy = np.concatenate(cand_day)
            order = np.lexsort((dy, ch))
            ch, dy = ch[order], dy[order]
            first = np.r_[True, ch[1:] != ch[:-1]]
            sel = order[first]
            ch = ch[first]
            dy = dy[first]
            srcs = np.concatenate(cand_src)[sel]
            concs = np.concatenate(cand_concern)[sel]
            bruises = np.concatenate(cand_bruise)[sel]
        else:
            ch = dy = srcs = concs = np.zeros(0, dtype=np.int64)
            bruises = np.zeros(0, dtype=bool)
        # referral dates must lie in the world (a day past its end is not)
        ok = dy <= end_day
        ch, dy, srcs, concs, bruises = ch[ok], dy[ok], srcs[ok], concs[ok], bruises[ok]

        # 6. practice decides
        own = ring[ch].sum(axis=1).astype(np.float64)
        hh_r = c_hh[ch]
        hh_sum = np.bincount(c_hh, weights=ring.sum(axis=1), minlength=nh)
        sib = hh_sum[hh_r] - own
        known = np.array([bin(int(v)).count("1") for v in range(64)])[known_mask[hh_r] & 63]
        outcome = practice_outcomes(
            rng,
            params,
            concern=concs,
            own_history=own,
            sibling_history=sib,
            known_factors=known.astype(np.float64),
            bruising_non_mobile=bruises,
            eta=eta[ch],
            unassessed_adult=unassessed[hh_r],
            la_offset=la_offset[la[hh_r]],
        )
        ridx = np.arange(n_refs, n_refs + len(ch))
        n_refs += len(ch)
        ev.add(
            hh_r,
            c_person[ch],
            dy,
            "referral",
            srcs,
            np.array([_DCODE[c] for c in CONCERNS])[concs],
            None,
            ridx,
        )
        ev.add(hh_r, c_person[ch], dy, "referral_outcome", "other", outcome_code[outcome])
        ring[:, m % 12] = 0
        ring[ch, m % 12] = 1
        for key, val in (
            ("child", ch),
            ("month", np.full(len(ch), m)),
            ("eta", eta[ch]),
            ("age", c_age[ch]),
            ("concern", concs),
            ("source", srcs),
            ("outcome", outcome),
            ("day", dy),
        ):
            ref_parts[key].append(val)
        for f in PARENT_FACTORS:
            ref_parts[f"state_{f}"].append(state[f][hh_r])
        ref_parts["state_unassessed_violent_adult"].append(unassessed[hh_r])

        # assessments (for assessment and s47 outcomes): find some factors, assess some adults
        a = np.flatnonzero(outcome >= 1)
        ka, ha = ch[a], hh_r[a]
        a_day = dy[a] + rng.integers(10, 41, len(a))
        bits = np.zeros(len(a), dtype=np.int64)
        for f in PARENT_FACTORS:
            found = state[f][ha] & (rng.random(len(a)) < pr.factor_found)
            bits |= found.astype(np.int64) << _ASSESS_BITS.index(FACTOR_CONCERN[f])
        harmed = (m - recent_harm[ka]) < 3
        bits |= (harmed & (concs[a] == _CCODE["physical_injury"])).astype(
            np.int64
        ) << _ASSESS_BITS.index("physical_injury")
        bits |= (
            harmed & (concs[a] != _CCODE["physical_injury"])
            | (trio_any[ha] & (rng.random(len(a)) < 0.05))
        ).astype(np.int64) << _ASSESS_BITS.index("neglect")
        s47 = outcome[a] == 2
        # an s47 enquiry always records at least the concern it was about
        concern_bit = np.array(
            [
                1 << _ASSESS_BITS.index(c)
                if c in _ASSESS_BITS
                else 1 << _ASSESS_BITS.index("neglect")
                for c in CONCERNS
            ]
        )
        bits = np.where(s47 & (bits == 0), concern_bit[concs[a]], bits)
        # some assessments that find a factor still conclude the child is not in need
        bits = np.where(~s47 & (rng.random(len(a)) < pr.not_in_need_despite_factor), 0, bits)
        a_detail = np.where(bits == 0, _DCODE["not_in_need"], _COMBO_CODE[bits])
        a_day = np.minimum(a_day, end_day)
        ev.add(ha, c_person[ka], a_day, "assessment_completed", "other", a_detail)
        np.bitwise_or.at(known_mask, ha, bits & 15)
        ev.add(ha, mother[ha], a_day, "adult_assessed", "other", None, c_person[ka])
        assessed[mother[ha]] = True
        for adult in (father, partner):
            who = adult[ha]
            inc = (who >= 0) & (rng.random(len(a)) < pr.assess_father)
            ev.add(
                ha[inc], who[inc], a_day[inc], "adult_assessed", "other", None, c_person[ka[inc]]
            )
            assessed[who[inc]] = True

        # s47 enquiries, conferences and plans
        e = np.flatnonzero(outcome == 2)
        ke, he = ch[e], hh_r[e]
        protect_until[ke] = m + hz.protect_months
        harmed_e = (m - recent_harm[ke]) < 3
        subst = rng.random(len(e)) < sigmoid(-1.2 + 2.0 * harmed_e + 0.6 * (eta[ke] + 4.0))
        e_day = np.minimum(dy[e] + rng.integers(5, 16, len(e)), end_day)
        ev.add(
            he,
            c_person[ke],
            e_day,
            "s47_concluded",
            "other",
            np.where(subst, _DCODE["substantiated"], _DCODE["not_substantiated"]),
        )
        conf = rng.random(len(e)) < np.clip(pr.icpc * np.where(subst, 1.7, 0.55), 0, 1)
        conf &= ~on_plan[ke]
        kc, hc_ = ke[conf], he[conf]
        c_day = np.minimum(e_day[conf] + rng.integers(7, 15, conf.sum()), end_day)
        plan = rng.random(len(kc)) < pr.plan
        ev.add(
            hc_,
            c_person[kc],
            c_day,
            "icpc",
            "other",
            np.where(plan, _DCODE["plan"], _DCODE["no_plan"]),
        )
        kp, hpp = kc[plan], hc_[plan]
        conc_p = concs[e][conf][plan]
        rcat = rng.random(len(kp))
        cat = np.where(
            conc_p == _CCODE["sexual"],
            3,
            np.where(
                (conc_p == _CCODE["physical_injury"]) & (rcat < 0.3),
                1,
                np.where(
                    state["domestic_abuse"][hpp]
                    | (conc_p == _CCODE["emotional"])
                    | (conc_p == _CCODE["domestic_abuse"]),
                    2,
                    0,
                ),
            ),
        )
        # most plans for physical injury are recorded as neglect or emotional abuse
        cat = np.where((cat == 2) & (rcat > 0.7), 0, cat)
        ev.add(hpp, c_person[kp], c_day[plan], "cp_plan_started", "other", cat_code[cat])
        on_plan[kp] = True
        plan_cat[kp] = cat

        # point-in-time counts (31 March each year, and every month for the summary)
        present = born
        diag["children"].append(np.array([present.sum()]))
        diag["on_plan"].append(np.array([(on_plan & present).sum()]))
        diag["on_plan_under1"].append(np.array([(on_plan & present & (c_age < 12)).sum()]))
        diag["on_plan_unborn"].append(np.array([(on_plan & (c_age < 0) & ~c_removed).sum()]))

    events = ev.arrays()
    people = {
        "household": np.concatenate(p_hh),
        "role": np.concatenate(p_role),
        "sex": np.concatenate(p_sex),
        "birth_month": np.concatenate(p_birth),
        "disability": np.concatenate(p_dis),
    }
    referrals = {k: np.concatenate(v) if v else np.zeros(0) for k, v in ref_parts.items()}
    ref_child = referrals["child"].astype(np.int64)
    for f, arr in (("earlier_removal", earlier_removal), ("young_parent", young)):
        referrals[f"state_{f}"] = arr[c_hh[ref_child]]
    referrals["state_disability"] = c_dis[ref_child].astype(bool)
    referrals["deprivation_decile"] = decile[c_hh[ref_child]]
    return World(
        start_month=start_month,
        n_months=n_months,
        households={
            "local_authority": la,
            "deprivation_decile": decile,
            "ethnicity": eth,
            "earlier_removal": earlier_removal,
            "young_parent": young,
        },
        people=people,
        events=events,
        referrals=referrals,
        children={
            "person": c_person,
            "household": c_hh,
            "birth_month": c_birth,
            "eta": eta_panel,
            "u": u_panel,
            "harm": harm_panel,
            "protected": prot_panel,
        },
        diagnostics={
            **{k: np.concatenate(v) for k, v in diag.items()},
            "harm_month": np.concatenate(harm_parts["month"]),
            "harm_child": np.concatenate(harm_parts["child"]),
            "harm_any_trio_factor": np.concatenate(harm_parts["any_trio_factor"]),
        },
    )


def _choice_src(rng: np.random.Generator, sources: tuple[str, ...], n: int) -> IntArray:
    return np.array([_SCODE[s] for s in sources])[rng.integers(0, len(sources), n)]


def world_bias_offsets(params: SynthParams, decile: IntArray, ethnicity: IntArray) -> FloatArray:
    """The referral log-odds shift the planted biases give each household.

    Zero everywhere when ``bias.surveillance`` and every ``bias.disproportionality`` are zero.
    """
    b = params.bias
    dispro: Mapping[str, float] = b.disproportionality
    return np.asarray(
        b.surveillance * (10 - decile) / 9.0 + np.array([dispro[e] for e in ETHNICITIES])[ethnicity]
    )
