"""What the monthly simulation carries from one month to the next.

:class:`Population` is fixed once households have formed (who lives where, who is born when);
:class:`SimState` is what changes (factors, partners, plans, records) plus the logs the
world is assembled from. Each step of :mod:`.world`'s month reads and updates one ``SimState``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from secondlook.synth.events import BoolArray, EventLog, FloatArray, IntArray

__all__ = ["Clock", "Month", "People", "Population", "Records", "SimState"]

#: "never" for month-valued state (a month no simulation reaches)
NEVER = -(10**6)


@dataclasses.dataclass(frozen=True)
class Clock:
    """The world's calendar: month 0 is ``start_month``; days are days since 1970-01-01."""

    start_month: np.datetime64
    n_months: int
    history_day: int
    start_day: int
    end_day: int


class People:
    """The people registry: mothers, fathers, children, earlier-removed children, then
    partners as they join; ids are row numbers."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("household", "role", "sex", "birth_month", "disability")
        }
        self.count = 0

    def add(
        self,
        household: IntArray,
        role: int,
        sex: npt.ArrayLike,
        birth_month: npt.ArrayLike,
        disability: npt.ArrayLike,
    ) -> IntArray:
        """Register one person per ``household`` entry; return their ids."""
        ids = np.arange(self.count, self.count + len(household), dtype=np.int64)
        self.count += len(household)
        self.parts["household"].append(household.astype(np.int64))
        self.parts["role"].append(np.full(len(household), role, dtype=np.int64))
        self.parts["sex"].append(np.asarray(sex, dtype=np.int64))
        self.parts["birth_month"].append(np.asarray(birth_month, dtype=np.int64))
        self.parts["disability"].append(np.asarray(disability, dtype=np.int64))
        return ids

    def arrays(self) -> dict[str, np.ndarray]:
        """The registry's columns."""
        return {k: np.concatenate(v) for k, v in self.parts.items()}


@dataclasses.dataclass
class Population:
    """Households and their children as formed before month 0 (one row per household or
    child; ``child_*`` arrays are indexed by child row, their household by ``child_household``).
    """

    local_authority: IntArray
    decile: IntArray
    ethnicity: IntArray
    frailty: FloatArray
    young_parent: BoolArray
    earlier_removal: BoolArray
    father_present: BoolArray
    father_violent: BoolArray
    first_birth: IntArray
    mother_age: IntArray
    mother: IntArray
    father: IntArray
    child_household: IntArray
    child_birth: IntArray
    child_disability: IntArray
    child_person: IntArray
    child_notified: IntArray

    @property
    def n_households(self) -> int:
        return len(self.decile)

    @property
    def n_children(self) -> int:
        return len(self.child_household)


@dataclasses.dataclass
class Records:
    """What the month loop logs for the world: referral rows, harm, point-in-time counts."""

    referrals: dict[str, list[np.ndarray]]
    harm: dict[str, list[np.ndarray]]
    counts: dict[str, list[np.ndarray]]
    n_referrals: int = 0

    @classmethod
    def empty(cls, factor_columns: tuple[str, ...]) -> Records:
        base = ("child", "month", "eta", "age", "concern", "source", "outcome", "day")
        return cls(
            referrals={k: [] for k in base + tuple(f"state_{f}" for f in factor_columns)},
            harm={"child": [], "month": [], "any_trio_factor": []},
            counts={k: [] for k in ("children", "on_plan", "on_plan_under1", "on_plan_unborn")},
        )


@dataclasses.dataclass
class SimState:
    """Everything that changes month by month, and the logs."""

    rng: np.random.Generator
    clock: Clock
    pop: Population
    people: People
    events: EventLog
    records: Records
    # per household
    factors: dict[str, BoolArray]
    onset_logodds: dict[str, FloatArray]
    partner: IntArray
    partner_violent: BoolArray
    known_mask: IntArray  # bits of the factors earlier assessments found
    referral_bias: FloatArray  # the planted biases' referral log-odds shift
    background_shift: FloatArray  # background referrals gather in frail households
    # per local authority
    la_offset: FloatArray
    # per person
    assessed: BoolArray
    # per child
    removed: BoolArray
    on_plan: BoolArray
    plan_category: IntArray
    protect_until: IntArray
    referral_ring: IntArray  # (n_children, 12): referred in each of the last 12 months
    prebirth_month: IntArray
    last_harm_month: IntArray
    # (n_children, n_months) panels, or (0, 0) when not kept
    panels: dict[str, np.ndarray]


@dataclasses.dataclass
class Month:
    """What one month's steps hand on to the next steps of the same month."""

    m: int
    day: int  # first day of the month
    referral_boost: FloatArray  # per child: log-odds more for a child referred in 12 months
    perpetrator: IntArray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    unassessed: BoolArray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    age: IntArray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    present: BoolArray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    eta: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))
    harm: BoolArray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    any_factor: BoolArray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
