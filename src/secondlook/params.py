"""params.yaml -> frozen, validated settings.

This is the one module that knows the shape of ``params.yaml``. Each stage has a section,
described here as a frozen dataclass. :func:`load_section` builds it from the parsed YAML and
rejects unknown keys, missing keys, wrong types and out-of-range values with a
:class:`ParamsError` whose message names the full dotted key (``synth.harm.beta.drug``).

Constraints are declared with :data:`typing.Annotated` markers (:data:`Prob`, :data:`NonNeg`,
:data:`Pos`) so the rule sits beside the field it governs. Cross-field rules (``end`` after
``start``) live in each class's ``check`` method.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import yaml

__all__ = [
    "ParamsError",
    "Prob",
    "NonNeg",
    "Pos",
    "SynthParams",
    "FeaturesParams",
    "TrainParams",
    "EvaluateParams",
    "ExplainParams",
    "ScoreParams",
    "FAMILY_NAMES",
    "load_params",
    "load_section",
    "from_mapping",
]


class ParamsError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


class _Check:
    def __init__(self, name: str, ok: typing.Callable[[float], bool], text: str) -> None:
        self.name, self.ok, self.text = name, ok, text


#: a probability in [0, 1]
Prob = Annotated[float, _Check("prob", lambda v: 0.0 <= v <= 1.0, "a probability in [0, 1]")]
#: a number >= 0
NonNeg = Annotated[float, _Check("nonneg", lambda v: v >= 0, "a number >= 0")]
#: an integer > 0
Pos = Annotated[int, _Check("pos", lambda v: v > 0, "an integer > 0")]

T = TypeVar("T")


def _fail(path: str, message: str) -> typing.NoReturn:
    raise ParamsError(f"params: `{path}` {message}")


def _convert(value: Any, hint: Any, path: str) -> Any:
    """Convert one YAML value to ``hint``, naming ``path`` on failure."""
    checks: list[_Check] = []
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        checks = [e for e in extras if isinstance(e, _Check)]
        hint = base
    out = _convert_plain(value, hint, path)
    for check in checks:
        if not check.ok(out):
            _fail(path, f"must be {check.text}, got {value!r}")
    return out


def _convert_plain(value: Any, hint: Any, path: str) -> Any:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            _fail(path, f"must be a mapping, got {type(value).__name__}")
        return from_mapping(hint, value, path)
    if hint is bool:
        if not isinstance(value, bool):
            _fail(path, f"must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(path, f"must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            _fail(path, f"must be a string, got {value!r}")
        return value
    if hint is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            _fail(path, f"must be a date YYYY-MM-DD, got {value!r}")
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            _fail(path, f"must be one of {', '.join(map(str, allowed))}; got {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], path)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            _fail(path, f"must be a list, got {value!r}")
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            _fail(path, f"must be a list of {len(args)} values, got {value!r}")
        return tuple(
            _convert(v, a, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin in (Mapping, dict, typing.Mapping):
        if not isinstance(value, Mapping):
            _fail(path, f"must be a mapping, got {value!r}")
        key_t, val_t = get_args(hint)
        return types.MappingProxyType(
            {_convert(k, key_t, path): _convert(v, val_t, f"{path}.{k}") for k, v in value.items()}
        )
    raise TypeError(f"unsupported parameter type {hint!r} at {path}")  # pragma: no cover


def from_mapping(cls: type[T], data: Mapping[str, Any], path: str) -> T:
    """Build the frozen dataclass ``cls`` from ``data``.

    Parameters
    ----------
    cls
        A dataclass type whose fields describe the section.
    data
        The parsed YAML mapping.
    path
        Dotted name of the section, used in error messages (``"synth"``).

    Returns
    -------
    T
        The validated settings.

    Raises
    ------
    ParamsError
        On an unknown, missing, mistyped or out-of-range key; the message names it.
    """
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        _fail(f"{path}.{unknown[0]}", f"is not a known key (known: {', '.join(sorted(fields))})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is not dataclasses.MISSING:
                continue
            _fail(f"{path}.{name}", "is missing")
        kwargs[name] = _convert(data[name], hints[name], f"{path}.{name}")
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        for key, message in check():
            _fail(f"{path}.{key}", message)
    return obj


# ---------------------------------------------------------------------------------------------
# synth: the simulated world
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HouseholdParams:
    """How households form and who lives in them."""

    children_weights: tuple[float, float, float, float]
    father_present: Prob
    young_parent: Prob
    earlier_removal: Prob
    disability: Prob
    partner_join: Prob
    partner_leave: Prob
    violent_adult: Prob
    father_violent: Prob
    pregnancy_notice_months: tuple[int, int]
    ethnicity_weights: Mapping[str, NonNeg]

    def check(self) -> list[tuple[str, str]]:
        errors = []
        if any(w < 0 for w in self.children_weights) or sum(self.children_weights) <= 0:
            errors.append(("children_weights", "must be 4 non-negative weights, not all zero"))
        lo, hi = self.pregnancy_notice_months
        if not 1 <= lo <= hi <= 9:
            errors.append(("pregnancy_notice_months", "must satisfy 1 <= low <= high <= 9"))
        from secondlook.schema import ETHNICITIES

        if set(self.ethnicity_weights) != set(ETHNICITIES):
            errors.append(("ethnicity_weights", f"must give a weight for each of {ETHNICITIES}"))
        return errors


@dataclasses.dataclass(frozen=True)
class MarkovParams:
    """Monthly onset and recovery probabilities of one hidden factor."""

    onset: Prob
    recovery: Prob


@dataclasses.dataclass(frozen=True)
class FactorParams:
    """The hidden parental factors, each a monthly Markov process."""

    drug: MarkovParams
    alcohol: MarkovParams
    mental_health: MarkovParams
    domestic_abuse: MarkovParams
    frailty_sd: NonNeg
    deprivation_onset: float


@dataclasses.dataclass(frozen=True)
class AgeParams:
    """Log-odds added to the harm hazard by the child's age band."""

    under_6m: float
    under_1y: float
    under_2y: float
    under_5y: float
    under_11y: float
    over_11y: float


@dataclasses.dataclass(frozen=True)
class BetaParams:
    """Log-odds of each hidden factor in the 12-month harm risk."""

    drug: float
    alcohol: float
    mental_health: float
    domestic_abuse: float
    unassessed_violent_adult: float
    earlier_removal: float
    young_parent: float
    deprivation: float
    disability: float


@dataclasses.dataclass(frozen=True)
class HarmParams:
    """The true risk of significant harm: a logistic model of the hidden state."""

    intercept: float
    age: AgeParams
    beta: BetaParams
    co_occurrence: float
    escalation_effect: float
    protect_months: Pos


@dataclasses.dataclass(frozen=True)
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


@dataclasses.dataclass(frozen=True)
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


@dataclasses.dataclass(frozen=True)
class BiasParams:
    """Planted biases. Each set to zero switches it off."""

    surveillance: NonNeg
    disproportionality: Mapping[str, float]

    def check(self) -> list[tuple[str, str]]:
        from secondlook.schema import ETHNICITIES

        if set(self.disproportionality) != set(ETHNICITIES):
            return [("disproportionality", f"must give a value for each of {ETHNICITIES}")]
        return []


@dataclasses.dataclass(frozen=True)
class PracticeParams:
    """How simulated practice decides referrals, with the failure modes reviews describe."""

    s47_cut: float
    nfa_cut: float
    la_sd: NonNeg
    n_local_authorities: Pos
    weight_concern: Mapping[str, float]
    weight_own_history: float
    weight_sibling_history: float
    start_again: Prob
    weight_known_factors: float
    weight_unassessed_adult: float
    bruising_missed: Prob
    weight_bruising: float
    weight_true_risk: float
    assess_father: Prob
    factor_found: Prob
    not_in_need_despite_factor: Prob
    icpc: Prob
    plan: Prob
    plan_end: Prob
    removal: Prob

    def check(self) -> list[tuple[str, str]]:
        from secondlook.schema import CONCERNS

        errors = []
        if set(self.weight_concern) != set(CONCERNS):
            errors.append(("weight_concern", f"must give a weight for each of {CONCERNS}"))
        if self.nfa_cut >= self.s47_cut:
            errors.append(("nfa_cut", "must be below s47_cut"))
        if self.n_local_authorities > 99:
            errors.append(("n_local_authorities", "must be at most 99"))
        return errors


@dataclasses.dataclass(frozen=True)
class SynthParams:
    """The ``synth:`` section: everything the simulated world is made from."""

    seed: int
    cohort_seed: int
    n_households: Pos
    cohort_households: Pos
    history_start: dt.date
    start: dt.date
    decisions_from: dt.date
    end: dt.date
    follow_up_months: int
    escalation_threshold: Prob
    vignettes: tuple[str, ...]
    household: HouseholdParams
    factors: FactorParams
    harm: HarmParams
    signals: SignalParams
    referral: ReferralParams
    bias: BiasParams
    practice: PracticeParams

    def check(self) -> list[tuple[str, str]]:
        errors = []
        if not self.history_start <= self.start:
            errors.append(("history_start", "must not be after start"))
        if not self.start < self.end:
            errors.append(("end", f"must be after start ({self.start})"))
        if not self.start <= self.decisions_from < self.end:
            errors.append(("decisions_from", "must lie between start and end"))
        if self.start.day != 1:
            errors.append(("start", "must be the first day of a month"))
        if self.follow_up_months < 0:
            errors.append(("follow_up_months", "must be >= 0"))
        if self.seed == self.cohort_seed:
            errors.append(("cohort_seed", "must differ from seed"))
        return errors

    def without_planted_biases(self) -> SynthParams:
        """The same world (same seed) with its planted referral biases switched off.

        Surveillance bias and every group's disproportionality are set to zero; everything
        else, practice's failure modes included, is unchanged (the ``no-bias`` study's world).
        """
        zero = types.MappingProxyType(dict.fromkeys(self.bias.disproportionality, 0.0))
        bias = dataclasses.replace(self.bias, surveillance=0.0, disproportionality=zero)
        return dataclasses.replace(self, bias=bias)


# ---------------------------------------------------------------------------------------------
# features: the temporal split and the optional group-attribute input
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WindowParams:
    """One split window: decisions dated ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date

    def check(self) -> list[tuple[str, str]]:
        if self.end < self.start:
            return [("end", f"must not be before start ({self.start})")]
        return []


@dataclasses.dataclass(frozen=True)
class SplitParams:
    """``features.split``: train, valid and test windows, in time order, not overlapping."""

    train: WindowParams
    valid: WindowParams
    test: WindowParams

    def check(self) -> list[tuple[str, str]]:
        errors = []
        if not self.train.end < self.valid.start:
            errors.append(("valid.start", f"must be after train.end ({self.train.end})"))
        if not self.valid.end < self.test.start:
            errors.append(("test.start", f"must be after valid.end ({self.valid.end})"))
        return errors

    def windows(self) -> dict[str, WindowParams]:
        """The windows by split name, in time order."""
        return {"train": self.train, "valid": self.valid, "test": self.test}


@dataclasses.dataclass(frozen=True)
class FeaturesParams:
    """The ``features:`` section: the temporal split and whether deprivation is an input.

    Each window must lie inside the world and leave ``synth.follow_up_months`` of follow-up
    before ``synth.end``; :meth:`check_world` checks that against the ``synth`` section.
    """

    split: SplitParams
    include_deprivation: bool
    #: the view of the record models may read (secondlook.features.views)
    view: Literal["multi_agency", "csc_records", "cin_census"] = "multi_agency"

    def check_world(self, synth: SynthParams) -> list[tuple[str, str]]:
        """Errors (dotted key under ``features``, message) against the simulated world."""
        import pandas as pd

        errors = []
        last = (pd.Timestamp(synth.end) - pd.DateOffset(months=synth.follow_up_months)).date()
        for name, window in self.split.windows().items():
            if window.start < synth.decisions_from:
                errors.append(
                    (
                        f"split.{name}.start",
                        f"must not be before synth.decisions_from ({synth.decisions_from})",
                    )
                )
            if window.end > last:
                errors.append(
                    (
                        f"split.{name}.end",
                        f"must leave synth.follow_up_months={synth.follow_up_months} months of "
                        f"follow-up before synth.end ({synth.end}): at most {last}",
                    )
                )
        return errors


# ---------------------------------------------------------------------------------------------
# train: the model families, calibration and the capacity threshold
# ---------------------------------------------------------------------------------------------

#: the model families, in the order reports list them; ``gbm`` is the black-box reference
FAMILY_NAMES = ("rules", "logreg", "tree", "ebm", "gbm")
FamilyName = Literal["rules", "logreg", "tree", "ebm", "gbm"]


@dataclasses.dataclass(frozen=True)
class RulesPoints:
    """Points each checklist item adds (0 switches an item off)."""

    bruising_non_mobile: int
    unborn_earlier_removal: int
    sibling_ever_removed: int
    unassessed_adult_named_in_da: int
    unexplained_injuries: int
    concern_sexual: int
    injury_non_mobile: int
    repeat_referrals: int
    sibling_referrals: int
    police_domestic: int
    cp_plan_active: int

    def check(self) -> list[tuple[str, str]]:
        return [
            (f.name, f"must be an integer >= 0, got {getattr(self, f.name)!r}")
            for f in dataclasses.fields(self)
            if getattr(self, f.name) < 0
        ]


@dataclasses.dataclass(frozen=True)
class RulesParams:
    """``train.rules``: a fixed checklist from guidance; only its flag cut is set from data."""

    points: RulesPoints
    referrals_12m_min: Pos
    sibling_referrals_36m_min: Pos
    police_domestic_12m_min: Pos


@dataclasses.dataclass(frozen=True)
class LogRegParams:
    """``train.logreg``: standardised inputs, elastic-net logistic regression (saga)."""

    C: float
    l1_ratio: Prob
    max_iter: Pos

    def check(self) -> list[tuple[str, str]]:
        return [] if self.C > 0 else [("C", f"must be a number > 0, got {self.C!r}")]


@dataclasses.dataclass(frozen=True)
class TreeParams:
    """``train.tree``: a shallow decision tree a reader can follow (depth at most 4)."""

    max_depth: Pos
    min_samples_leaf: Pos
    ccp_alpha: NonNeg

    def check(self) -> list[tuple[str, str]]:
        if self.max_depth > 4:
            return [("max_depth", f"must be at most 4, got {self.max_depth}")]
        return []


@dataclasses.dataclass(frozen=True)
class EBMParams:
    """``train.ebm``: interpret-core ExplainableBoostingClassifier settings."""

    interactions: int
    outer_bags: Pos
    max_rounds: Pos
    learning_rate: float
    max_bins: Pos
    min_samples_leaf: Pos
    n_jobs: int

    def check(self) -> list[tuple[str, str]]:
        errors = []
        if self.interactions < 0:
            errors.append(("interactions", f"must be an integer >= 0, got {self.interactions}"))
        if not 0 < self.learning_rate <= 1:
            errors.append(("learning_rate", f"must be in (0, 1], got {self.learning_rate}"))
        if self.n_jobs == 0:
            errors.append(("n_jobs", "must not be 0 (use a positive count, or -1 for all cores)"))
        return errors


@dataclasses.dataclass(frozen=True)
class GBMParams:
    """``train.gbm``: HistGradientBoostingClassifier, the black-box reference."""

    max_iter: Pos
    learning_rate: float
    max_leaf_nodes: Pos
    min_samples_leaf: Pos
    l2_regularization: NonNeg
    n_threads: Pos

    def check(self) -> list[tuple[str, str]]:
        if not 0 < self.learning_rate <= 1:
            return [("learning_rate", f"must be in (0, 1], got {self.learning_rate}")]
        return []


@dataclasses.dataclass(frozen=True)
class TrainParams:
    """The ``train:`` section: which families, on which label, calibrated how, flagging how many."""

    seed: int
    families: tuple[str, ...]  # each one of FAMILY_NAMES (checked below; str keeps dicts simple)
    label: str
    capacity: Prob
    calibration: Literal["isotonic", "sigmoid"]
    include_group_attributes: bool
    rules: RulesParams
    logreg: LogRegParams
    tree: TreeParams
    ebm: EBMParams
    gbm: GBMParams

    def check(self) -> list[tuple[str, str]]:
        from secondlook.schema import LABELS

        errors = []
        for i, name in enumerate(self.families):
            if name not in FAMILY_NAMES:
                errors.append(
                    (f"families[{i}]", f"must be one of {', '.join(FAMILY_NAMES)}; got {name!r}")
                )
        if not self.families or len(set(self.families)) != len(self.families):
            errors.append(("families", "must list at least one family, each once"))
        if self.label not in LABELS:
            errors.append(("label", f"must be one of {', '.join(LABELS)}; got {self.label!r}"))
        if not 0 < self.capacity < 1:
            errors.append(("capacity", f"must be strictly between 0 and 1, got {self.capacity}"))
        return errors


# ---------------------------------------------------------------------------------------------
# evaluate: metrics with bootstrap intervals on the test split
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EvaluateParams:
    """The ``evaluate:`` section: the headline label, bootstrap size and interval level."""

    seed: int
    n_boot: Pos
    ci: Prob
    label: str
    ece_bins: Pos
    select_by: Literal["auroc", "auprc"]

    def check(self) -> list[tuple[str, str]]:
        from secondlook.schema import LABELS

        errors = []
        if not 0 < self.ci < 1:
            errors.append(("ci", f"must be strictly between 0 and 1, got {self.ci}"))
        if self.label not in LABELS:
            errors.append(("label", f"must be one of {', '.join(LABELS)}; got {self.label!r}"))
        if self.ece_bins < 2:
            errors.append(("ece_bins", f"must be at least 2, got {self.ece_bins}"))
        return errors


# ---------------------------------------------------------------------------------------------
# explain: exact contributions, reasons, fidelity, stability, case review packs
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExplainParams:
    """The ``explain:`` section: reasons per decision, packs, and the stability refits."""

    seed: int
    top_k: Pos
    fidelity_k: Pos
    pack_family: FamilyName
    n_packs: int
    n_boot: Pos
    stability_rows: Pos
    plot_rows: Pos
    n_dependence: int

    def check(self) -> list[tuple[str, str]]:
        errors = []
        if self.n_packs < 0:
            errors.append(("n_packs", f"must be >= 0, got {self.n_packs}"))
        if self.n_dependence < 0:
            errors.append(("n_dependence", f"must be >= 0, got {self.n_dependence}"))
        return errors


# ---------------------------------------------------------------------------------------------
# score: batch scoring of an anonymised cohort
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScoreParams:
    """The ``score:`` section: the referral window, chunking, reasons and the engine.

    ``start``/``end`` (inclusive, ``null``: unbounded) are the referral dates scored; the CLI's
    ``--from``/``--to`` override them. Memory is bounded by ``chunk_households`` (households
    scored together) and ``batch_rows`` (rows read at a time).
    """

    start: dt.date | None
    end: dt.date | None
    chunk_households: Pos
    batch_rows: Pos
    top_k: Pos
    engine: Literal["pandas", "dask"]
    dask_workers: Pos

    def check(self) -> list[tuple[str, str]]:
        if self.start is not None and self.end is not None and self.end < self.start:
            return [("end", f"must not be before start ({self.start})")]
        return []


@dataclasses.dataclass(frozen=True)
class LabelBiasParams:
    """The label-bias study: one family trained on the truth and on proxies, in two worlds."""

    family: Literal["rules", "logreg", "tree", "ebm", "gbm"]
    labels: tuple[str, ...]
    attributes: tuple[str, ...]
    metrics: tuple[str, ...]

    def check(self) -> list[tuple[str, str]]:
        from secondlook.evaluate.fairness import GROUP_METRICS
        from secondlook.schema import LABELS

        errors = []
        for label in self.labels:
            if label not in LABELS:
                errors.append(("labels", f"`{label}` is not a label ({', '.join(LABELS)})"))
        for metric in self.metrics:
            if metric not in GROUP_METRICS:
                errors.append(("metrics", f"`{metric}` is not one of {', '.join(GROUP_METRICS)}"))
        return errors


@dataclasses.dataclass(frozen=True)
class FairnessParams:
    """The ``fairness:`` section: group metrics, intervals, suppression, the label-bias study.

    ``labels[0]`` is the truth every disparity is finally measured against; the others are the
    proxies compared with it.
    """

    attributes: tuple[str, ...]
    labels: tuple[str, ...]
    min_cell: Pos
    n_boot: Pos
    ci: Prob
    seed: int
    label_bias: LabelBiasParams

    def check(self) -> list[tuple[str, str]]:
        from secondlook.evaluate.fairness import GROUP_ATTRIBUTES
        from secondlook.schema import LABELS

        errors = []
        for a in self.attributes + self.label_bias.attributes:
            if a not in GROUP_ATTRIBUTES:
                errors.append(("attributes", f"`{a}` is not one of {', '.join(GROUP_ATTRIBUTES)}"))
        for label in self.labels:
            if label not in LABELS:
                errors.append(("labels", f"`{label}` is not a label ({', '.join(LABELS)})"))
        if self.labels and self.labels[0] != "warrants_escalation":
            errors.append(("labels", "must start with the truth, warrants_escalation"))
        if not 0 < self.ci < 1:
            errors.append(("ci", "must be strictly between 0 and 1"))
        return errors


SECTIONS: dict[str, type] = {
    "synth": SynthParams,
    "features": FeaturesParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
    "explain": ExplainParams,
    "score": ScoreParams,
    "fairness": FairnessParams,
}


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read a params file into a plain mapping, with a clear error if it is not YAML.

    Parameters
    ----------
    path
        The params file (default ``params.yaml``).

    Returns
    -------
    dict
        The parsed top-level mapping.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"params: file {path} not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"params: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"params: {path} must hold a mapping of sections")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ParamsError(
            f"params: `{unknown[0]}` is not a known section (known: {', '.join(sorted(SECTIONS))})"
        )
    return data


def load_section(name: str, data: Mapping[str, Any]) -> Any:
    """Validate one top-level section of the parsed params.

    Parameters
    ----------
    name
        Section name, e.g. ``"synth"``.
    data
        The whole parsed params mapping.

    Returns
    -------
    object
        The section's frozen settings object.
    """
    if name not in data:
        raise ParamsError(f"params: section `{name}` is missing")
    return from_mapping(SECTIONS[name], data[name], name)
