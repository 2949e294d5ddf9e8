"""The simulator's vocabulary as integer codes, and the event log it writes month by month.

The world is held as integer arrays; :mod:`.tables` turns the codes back into names:
:data:`DETAILS` (event details, including every ``;``-joined combination of factors an assessment
can record), :data:`TYPES` (event types), :data:`ROLE_CODES` (people's roles).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from secondlook.schema import CONCERNS, EVENT_DETAILS, SOURCES

__all__ = [
    "ASSESS_BITS",
    "CCODE",
    "COMBO_CODE",
    "DCODE",
    "DETAILS",
    "FACTOR_CONCERN",
    "PARENT_FACTORS",
    "ROLE_CODES",
    "SCODE",
    "TYPES",
    "BoolArray",
    "EventLog",
    "FloatArray",
    "IntArray",
    "choice_codes",
    "logit",
    "month_day",
    "weighted_choice",
]

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
#: the concerns an assessment can record, one bit each (bit i = ASSESS_BITS[i])
ASSESS_BITS = (
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


def _combinations(details: list[str]) -> IntArray:
    """Detail code of each assessment bitmask (``;``-joined in CONCERNS order), adding to
    ``details`` the combinations it lacks; code -1 for the empty mask."""
    codes = np.full(1 << len(ASSESS_BITS), -1, dtype=np.int64)
    for mask in range(1, 1 << len(ASSESS_BITS)):
        names = [c for c in CONCERNS if c in ASSESS_BITS and mask >> ASSESS_BITS.index(c) & 1]
        text = ";".join(names)
        if text not in details:
            details.append(text)
        codes[mask] = details.index(text)
    return codes


DETAILS = _detail_vocab()
COMBO_CODE = _combinations(DETAILS)
DCODE = {d: i for i, d in enumerate(DETAILS)}
SCODE = {s: i for i, s in enumerate(SOURCES)}
CCODE = {c: i for i, c in enumerate(CONCERNS)}
TYPES = tuple(EVENT_DETAILS)
_TCODE = {t: i for i, t in enumerate(TYPES)}


class EventLog:
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
        """Append events (one per ``person``); scalars are broadcast, names become codes."""
        n = len(person)
        if n == 0:
            return

        def col(v: np.ndarray | int) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()

        self.parts["household"].append(col(household))
        self.parts["person"].append(col(person))
        self.parts["day"].append(col(day))
        self.parts["type"].append(col(_TCODE[etype]))
        self.parts["source"].append(col(SCODE[source] if isinstance(source, str) else source))
        if detail is None:
            self.parts["detail"].append(col(-1))
        elif isinstance(detail, str):
            self.parts["detail"].append(col(DCODE[detail]))
        else:
            self.parts["detail"].append(col(detail))
        self.parts["related"].append(col(-1 if related is None else related))
        self.parts["ref_index"].append(col(-1 if ref_index is None else ref_index))

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns, concatenated (empty int64 arrays when nothing was logged)."""
        return {
            c: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64))
            for c, v in self.parts.items()
        }


def logit(p: float | FloatArray) -> FloatArray:
    """Log-odds of ``p``, clipped away from 0 and 1."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.asarray(np.log(p / (1 - p)))


def weighted_choice(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> IntArray:
    """``n`` indexes drawn with probabilities proportional to ``weights``."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64)


def choice_codes(
    rng: np.random.Generator, codes: dict[str, int], names: tuple[str, ...], n: int
) -> IntArray:
    """``n`` codes of ``names`` drawn uniformly (``codes`` maps a name to its code)."""
    return np.array([codes[s] for s in names])[rng.integers(0, len(names), n)]


def month_day(start_month: np.datetime64, month: int) -> int:
    """Days since 1970-01-01 of the first day of simulation month ``month``."""
    m = (start_month + np.array([month]).astype("timedelta64[M]")).astype("datetime64[D]")
    return int(m.astype(np.int64)[0])
