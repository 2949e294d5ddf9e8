"""Named research studies: ``experiments/studies/<name>.yaml`` run as DVC experiments.

A study file holds a ``description`` and ``set``, a mapping of dotted params keys to values::

    description: Train on a proxy a real agency observes; evaluate on the truth.
    set:
      train.label: cp_plan_12m

``secondlook study NAME`` checks every key exists in ``params.yaml`` and that the overridden
params still validate, then runs ``dvc exp run -n NAME -S key=value …``, so the study appears in
``dvc exp show`` and, through the evaluate stage, in MLflow (the run is named after it).
"""

from __future__ import annotations

import copy
import dataclasses
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from secondlook.params import SECTIONS, ParamsError, load_section

__all__ = ["Study", "StudyError", "load_study", "apply_overrides", "study_command", "run_study"]


class StudyError(ParamsError):
    """A study file is missing, malformed, or overrides a key params.yaml does not have."""


@dataclasses.dataclass(frozen=True)
class Study:
    """One study: its name (the file stem), what it asks, and the params it sets."""

    name: str
    description: str
    overrides: Mapping[str, Any]


def load_study(name: str, folder: Path) -> Study:
    """Read ``folder/<name>.yaml``.

    Raises
    ------
    StudyError
        If the file is missing, is not a mapping with exactly ``description`` and ``set``, or
        ``set`` is empty.
    """
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise StudyError(f"study `{name}` not found in {folder} (known: {', '.join(known)})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise StudyError(f"study {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StudyError(f"study {path} must be a mapping with `description` and `set`")
    unknown = sorted(set(data) - {"description", "set"})
    if unknown:
        raise StudyError(f"study {path}: `{unknown[0]}` is not a known key (description, set)")
    overrides = data.get("set")
    if not isinstance(overrides, dict) or not overrides:
        raise StudyError(f"study {path}: `set` must be a non-empty mapping of params keys")
    return Study(name, str(data.get("description", "")).strip(), dict(overrides))


def apply_overrides(params: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with each dotted key set, every touched section re-validated.

    Raises
    ------
    StudyError
        Naming the first key that does not exist in ``params``.
    ParamsError
        If an overridden value is invalid (the message names the key).
    """
    out = copy.deepcopy(dict(params))
    for key, value in overrides.items():
        parts = str(key).split(".")
        node: Any = out
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                raise StudyError(
                    f"study sets `{key}`, but params has no `{'.'.join(parts[: i + 1])}`"
                )
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node[part]
    for section in {str(k).split(".")[0] for k in overrides}:
        if section in SECTIONS:
            load_section(section, out)
    return out


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return str(value)


def _check_modes(queue: bool, temp: bool) -> None:
    """Refuse ``--temp`` with ``--queue`` rather than silently dropping one of them."""
    if queue and temp:
        raise StudyError(
            "--temp and --queue cannot be combined: a queued experiment always runs in a "
            "temporary copy of the repo (`dvc exp run --queue`), so --temp adds nothing; "
            "give --queue alone to queue the study, or --temp alone to run it now in a "
            "temporary copy"
        )


def study_command(
    study: Study, *, queue: bool = False, temp: bool = False, targets: Sequence[str] = ()
) -> list[str]:
    """The ``dvc exp run`` command line that runs ``study``.

    Parameters
    ----------
    study
        The study.
    queue, temp
        ``--queue`` or ``--temp`` (not both).
    targets
        Stages to reproduce (``dvc exp run``'s targets, with everything they depend on); empty:
        the whole pipeline.

    Raises
    ------
    StudyError
        If both ``queue`` and ``temp`` are set (a queued experiment already runs in a
        temporary copy).
    """
    _check_modes(queue, temp)
    cmd = ["dvc", "exp", "run", "-n", study.name]
    if queue:
        cmd.append("--queue")
    elif temp:
        cmd.append("--temp")
    for key, value in study.overrides.items():
        cmd += ["-S", f"{key}={_format(value)}"]
    return cmd + list(targets)


def run_study(
    name: str,
    folder: Path,
    params: Mapping[str, Any],
    *,
    queue: bool = False,
    temp: bool = False,
    dry_run: bool = False,
    targets: Sequence[str] = (),
    log: Callable[[str], Any] = print,
) -> int:
    """Validate study ``name`` against ``params`` and run it as a DVC experiment.

    ``targets`` limits the experiment to those stages and what they depend on (e.g.
    ``headline`` leaves out the views, score, policy, report and simulation-study stages).

    Returns
    -------
    int
        The exit code of ``dvc exp run`` (0 on a dry run).
    """
    _check_modes(queue, temp)
    study = load_study(name, folder)
    apply_overrides(params, study.overrides)
    cmd = study_command(study, queue=queue, temp=temp, targets=targets)
    log(f"study {name}: {study.description}")
    log("$ " + " ".join(cmd))
    if dry_run:
        return 0
    return subprocess.run(cmd, check=False).returncode
