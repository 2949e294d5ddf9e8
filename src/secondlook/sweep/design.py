"""Sweep designs: ``experiments/designs/<name>.yaml`` names scenarios of worlds and seeds.

A design is a simulation study in the ADEMP sense (Morris, White & Crowther 2019): several
data-generating mechanisms (*scenarios*), each run with the same *seeds*, and the same estimands
measured in every world. The file::

    description: How much agencies see of a family's hidden difficulties.
    seeds: 5                    # worlds per scenario: world seeds first_seed .. first_seed + 4
    first_seed: 1000            # optional; default synth.seed
    n_households: 20000         # optional world size; default synth.n_households
    families: [logreg, ebm, gbm]  # optional; default train.families
    set:                        # optional overrides every scenario shares
      train.ebm.n_jobs: 1
    scenarios:
      as_now:
        description: the default world
      low:
        description: agencies see half as much
        scale: {synth.signals.police_domestic: 0.5}   # multiply the base value
        set: {synth.signals.background_referral: 0.0009}

Every scenario's overrides are applied to params.yaml and validated exactly as a study's are
(:func:`secondlook.studies.apply_overrides`), so a key params.yaml lacks or a value out of range
is refused before any world runs, with a message naming the design file and the key.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from secondlook.params import ParamsError
from secondlook.studies import StudyError, apply_overrides

__all__ = ["DesignError", "Scenario", "Design", "load_design", "scenario_params"]

_TOP_KEYS = ("description", "seeds", "first_seed", "n_households", "families", "set", "scenarios")
_SCENARIO_KEYS = ("description", "set", "scale")


class DesignError(StudyError):
    """A design file is missing, malformed, or sets a key params.yaml does not have."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One data-generating mechanism: its name, what it changes, and the resulting params.

    Attributes
    ----------
    name
        The key under ``scenarios``.
    description
        One line a reader understands.
    overrides
        Dotted params key -> value, after scaling (what the scenario sets, shared ``set`` first).
    params
        The full params mapping of this scenario (validated), before the world seed is set.
    """

    name: str
    description: str
    overrides: Mapping[str, Any]
    params: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Design:
    """A validated design: scenarios x seeds, the world size and the families trained."""

    name: str
    path: Path
    description: str
    seeds: tuple[int, ...]
    n_households: int
    families: tuple[str, ...]
    scenarios: tuple[Scenario, ...]

    @property
    def n_worlds(self) -> int:
        """Scenarios times seeds."""
        return len(self.scenarios) * len(self.seeds)


def _get(params: Mapping[str, Any], key: str) -> Any:
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DesignError(f"{where} must be an integer > 0, got {value!r}")
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DesignError(f"{where} must be a mapping of dotted params keys to values")
    return {str(k): v for k, v in value.items()}


def scenario_params(
    params: Mapping[str, Any],
    shared: Mapping[str, Any],
    scale: Mapping[str, Any],
    own: Mapping[str, Any],
    where: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply a scenario's overrides to ``params`` and validate them like a study.

    Parameters
    ----------
    params
        The parsed params.yaml.
    shared
        The design's ``set`` (applied first).
    scale
        Dotted key -> factor; the scenario's value is the base value (after ``shared``) times it.
    own
        The scenario's ``set`` (applied last; it wins over ``scale`` for the same key).
    where
        The file and scenario named in errors, e.g. ``design x.yaml: scenarios.low``.

    Returns
    -------
    (overrides, params)
        The dotted overrides actually applied and the full validated params.

    Raises
    ------
    DesignError
        Naming ``where`` and the key, for an unknown key, a non-numeric scale or an invalid value.
    """
    overrides = dict(shared)
    base = copy.deepcopy(dict(params))
    try:
        base = apply_overrides(base, shared) if shared else base
    except ParamsError as exc:
        raise DesignError(f"{where}: set: {exc}") from None
    for key, factor in scale.items():
        try:
            value = _get(base, key)
        except KeyError:
            raise DesignError(f"{where}: scale: params has no `{key}`") from None
        numeric = (int, float)
        if isinstance(factor, bool) or not isinstance(factor, numeric):
            raise DesignError(f"{where}: scale: `{key}` must be a number, got {factor!r}")
        if isinstance(value, bool) or not isinstance(value, numeric):
            raise DesignError(f"{where}: scale: `{key}` is not a number in params ({value!r})")
        # rounded so 0.28 * 0.5 is 0.14, not 0.14000000000000001, in files and hashes
        overrides[key] = round(float(value) * float(factor), 12)
    overrides.update(own)
    try:
        full = apply_overrides(params, overrides) if overrides else copy.deepcopy(dict(params))
    except ParamsError as exc:
        raise DesignError(f"{where}: {exc}") from None
    return overrides, full


def _read(path: Path) -> dict[str, Any]:
    """The design file as a mapping with only known top-level keys and the required ones."""
    if not path.is_file():
        raise DesignError(f"design {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DesignError(f"design {path} is not valid YAML: {exc}") from None
    where = f"design {path}"
    if not isinstance(data, dict):
        raise DesignError(f"{where} must be a mapping with `seeds` and `scenarios`")
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise DesignError(f"{where}: `{unknown[0]}` is not a known key ({', '.join(_TOP_KEYS)})")
    for key in ("seeds", "scenarios"):
        if key not in data:
            raise DesignError(f"{where}: `{key}` is missing")
    return data


def _scenario(
    name: str, body: Any, params: Mapping[str, Any], shared: Mapping[str, Any], at: str
) -> Scenario:
    """One validated scenario (``at`` names the file and the scenario in errors)."""
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise DesignError(f"{at} must be a mapping ({', '.join(_SCENARIO_KEYS)})")
    bad = sorted(set(body) - set(_SCENARIO_KEYS))
    if bad:
        raise DesignError(f"{at}: `{bad[0]}` is not a known key ({', '.join(_SCENARIO_KEYS)})")
    scale = _mapping(body.get("scale"), f"{at}.scale")
    own = _mapping(body.get("set"), f"{at}.set")
    overrides, full = scenario_params(params, shared, scale, own, at)
    return Scenario(name, str(body.get("description", "")).strip(), overrides, full)


def load_design(path: Path, params: Mapping[str, Any]) -> Design:
    """Read and validate a design file against ``params``.

    Parameters
    ----------
    path
        The design YAML (see the module docstring for its keys).
    params
        The parsed params.yaml the scenarios override.

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        If the file is missing or not YAML, a key is unknown or missing, a value has the wrong
        type, a family is not in ``train.families``, or a scenario's overrides do not validate;
        the message names the file and the key.
    """
    path = Path(path)
    data = _read(path)
    where = f"design {path}"
    n_seeds = _positive_int(data["seeds"], f"{where}: `seeds`")
    synth = params.get("synth", {})
    first = data.get("first_seed", synth.get("seed", 0))
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise DesignError(f"{where}: `first_seed` must be an integer >= 0, got {first!r}")
    n_households = _positive_int(
        data.get("n_households", synth.get("n_households")), f"{where}: `n_households`"
    )
    known_families = list(params.get("train", {}).get("families", []))
    families = data.get("families", known_families)
    if not isinstance(families, list) or not families:
        raise DesignError(f"{where}: `families` must be a non-empty list")
    for f in families:
        if f not in known_families:
            raise DesignError(
                f"{where}: `families` names `{f}`, which is not in train.families "
                f"({', '.join(known_families)})"
            )
    shared = _mapping(data.get("set"), f"{where}: `set`")
    raw = data["scenarios"]
    if not isinstance(raw, dict) or not raw:
        raise DesignError(f"{where}: `scenarios` must be a non-empty mapping of names")
    scenarios = [
        _scenario(str(name), body, params, shared, f"{where}: scenarios.{name}")
        for name, body in raw.items()
    ]
    for i, a in enumerate(scenarios):
        for b in scenarios[:i]:
            if a.params == b.params:
                raise DesignError(
                    f"{where}: scenarios.{a.name} and scenarios.{b.name} give the same params "
                    "(the same worlds twice)"
                )
    return Design(
        name=path.stem,
        path=path,
        description=str(data.get("description", "")).strip(),
        seeds=tuple(range(first, first + n_seeds)),
        n_households=n_households,
        families=tuple(str(f) for f in families),
        scenarios=tuple(scenarios),
    )
