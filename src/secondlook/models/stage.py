"""The ``train`` stage: fit one family, calibrate it on the validation split, save it.

:func:`train_family` is the pure core (frames in, model and metadata out); :func:`run_train` is
the stage entry the CLI calls with the paths dvc.yaml passes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secondlook.errors import InputError, OptionError
from secondlook.models.calibrate import CalibratedModel
from secondlook.models.persist import file_sha256, save_model
from secondlook.models.registry import make_family
from secondlook.models.venn_abers import compare_calibrations
from secondlook.params import TrainParams
from secondlook.schema import ETHNICITIES

__all__ = [
    "ETHNICITY_INPUTS",
    "add_group_inputs",
    "label_column",
    "select_inputs",
    "fit_family",
    "train_family",
    "run_train",
]

#: 0/1 indicator inputs derived from ``group_ethnicity`` when a study switches group attributes on
ETHNICITY_INPUTS = tuple(f"ethnicity_{e.lower()}" for e in ETHNICITIES)


def label_column(label: str) -> str:
    """The feature-table column holding ``label`` (``label_<label>``)."""
    return f"label_{label}"


def add_group_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the ethnicity indicators :data:`ETHNICITY_INPUTS` (a copy; the input is untouched).

    Parameters
    ----------
    frame
        A feature table with ``group_ethnicity``; without it the frame is returned unchanged.
    """
    if "group_ethnicity" not in frame.columns:
        return frame
    out = frame.copy()
    eth = out["group_ethnicity"].astype(str)
    for name, col in zip(ETHNICITIES, ETHNICITY_INPUTS, strict=True):
        out[col] = (eth == name).astype(np.int64)
    return out


def _default_model_inputs(columns: list[str], *, include_deprivation: bool = False) -> list[str]:
    from secondlook.features import model_inputs

    return model_inputs(columns, include_deprivation=include_deprivation)


def _view_of(train: pd.DataFrame, inputs: list[str]) -> dict[str, Any]:
    """The view the features were built for and what the model's inputs need from a cohort."""
    from secondlook.features.views import view_needs

    name = str(train.attrs.get("view", "multi_agency"))
    return {"name": name, "needs": sorted(view_needs(name, inputs))}


def select_inputs(
    columns: list[str],
    include_group_attributes: bool,
    model_inputs: Callable[..., list[str]] | None = None,
    *,
    practice_features: str = "include",
) -> list[str]:
    """The model inputs of a feature table.

    Parameters
    ----------
    columns
        The feature table's columns (after :func:`add_group_inputs`).
    include_group_attributes
        ``train.include_group_attributes``: add deprivation and the ethnicity indicators.
    model_inputs
        The features' rule for inputs; default ``secondlook.features.model_inputs``.
    practice_features
        ``features.practice_features``: ``exclude`` drops every catalogue feature whose kind
        is ``practice`` (what practice decided), leaving signals only.

    Returns
    -------
    list of str
        Never a label, identifier, truth or practice column.
    """
    rule = model_inputs or _default_model_inputs
    inputs = list(rule(columns, include_deprivation=include_group_attributes))
    if include_group_attributes:
        inputs += [c for c in ETHNICITY_INPUTS if c in columns and c not in inputs]
    if practice_features not in ("include", "exclude"):
        raise ValueError(f"practice_features must be include or exclude, got {practice_features!r}")
    if practice_features == "exclude":
        from secondlook.features.catalogue import PRACTICE_FEATURES

        inputs = [c for c in inputs if c not in PRACTICE_FEATURES]
    forbidden = [c for c in inputs if c.startswith(("label_", "practice_"))]
    if forbidden:  # the contract says never; a bug upstream must not leak the label
        raise ValueError(f"label or practice columns offered as inputs: {forbidden}")
    return inputs


def fit_family(
    family: str,
    cfg: TrainParams,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    inputs: list[str],
) -> CalibratedModel:
    """Fit ``family`` on ``train``, calibrate it and set its cut on ``valid``: the model only.

    The same model :func:`train_family` returns, without its metadata (the comparison of
    calibrations by cross-fitting, the clean-record reference): for callers that discard them,
    such as a sweep world (:func:`secondlook.sweep.task.run_world`).

    Parameters
    ----------
    family, cfg, train, valid, inputs
        As for :func:`train_family`.

    Returns
    -------
    CalibratedModel

    Raises
    ------
    InputError
        If a split has no column for ``cfg.label``.
    """
    return _fit_timed(family, cfg, train, valid, inputs)[0]


def _fit_timed(
    family: str,
    cfg: TrainParams,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    inputs: list[str],
) -> tuple[CalibratedModel, float, float]:
    """:func:`fit_family`'s model with its fit and calibration times (seconds)."""
    label = label_column(cfg.label)
    for name, frame in (("train", train), ("valid", valid)):
        if label not in frame.columns:
            raise InputError(f"the {name} split has no column {label} (train.label)")
    t0 = time.perf_counter()
    fitted = make_family(family, cfg).fit(train[inputs], train[label].to_numpy())
    t1 = time.perf_counter()
    model = CalibratedModel(fitted, method=cfg.calibration, capacity=cfg.capacity)
    model.fit(valid, valid[label].to_numpy())
    return model, t1 - t0, time.perf_counter() - t1


def train_family(
    family: str,
    cfg: TrainParams,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    inputs: list[str],
) -> tuple[CalibratedModel, dict[str, Any]]:
    """Fit ``family`` on ``train``, calibrate and set its cut on ``valid``.

    Parameters
    ----------
    family
        One of ``train.families``.
    cfg
        The ``train:`` section.
    train, valid
        Feature tables with ``inputs`` and ``label_<cfg.label>``.
    inputs
        The model inputs (see :func:`select_inputs`).

    Returns
    -------
    model, metadata
        The calibrated model and a JSON-able description (inputs, label, calibration, cut,
        training window, sizes, hyperparameters, timings).
    """
    model, fit_seconds, calibrate_seconds = _fit_timed(family, cfg, train, valid, inputs)
    fitted, label = model.family, label_column(cfg.label)
    # the three calibrations compared on the validation split by cross-fitting (README figures)
    compared = compare_calibrations(
        model.decision_function(valid), valid[label].to_numpy(), seed=cfg.seed, n_bins=10
    )
    dates = pd.to_datetime(train["decision_date"]) if "decision_date" in train else None
    hyper = (
        dataclasses.asdict(getattr(cfg, family)) if hasattr(cfg, family) else {}
    )  # every family has a section; kept defensive for future families
    meta: dict[str, Any] = {
        "family": family,
        "interpretable": fitted.interpretable,
        "margin_scale": fitted.margin_scale,
        "label": cfg.label,
        "inputs": list(fitted.inputs_),
        "offered_inputs": list(inputs),
        "include_group_attributes": cfg.include_group_attributes,
        "policy": getattr(cfg, "policy", "none"),
        "calibration": cfg.calibration,
        "calibration_comparison": {
            k: {m: (round(v, 6) if isinstance(v, float) else v) for m, v in row.items()}
            for k, row in compared.items()
        },
        "capacity": cfg.capacity,
        "threshold": model.threshold_,
        "margin_threshold": model.margin_threshold_,
        "valid_flag_rate": model.valid_flag_rate_,
        "training_window": {
            "from": None if dates is None else str(dates.min().date()),
            "to": None if dates is None else str(dates.max().date()),
        },
        "n_train": len(train),
        "n_train_positive": int(train[label].sum()),
        "n_valid": len(valid),
        "n_valid_positive": int(valid[label].sum()),
        "hyperparameters": hyper,
        "seed": cfg.seed,
        "fit_seconds": round(fit_seconds, 3),
        "calibrate_seconds": round(calibrate_seconds, 3),
        "description": fitted.describe(),
    }
    from secondlook.features.reference import clean_record_reference

    # the referral reasons are measured against (explain.reference: clean_record), kept with
    # the model so that whoever scores without the training data can state the same reasons
    meta["clean_record_reference"] = {
        str(k): float(v) for k, v in clean_record_reference(train, list(fitted.inputs_)).items()
    }
    return model, meta


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("scikit-learn", "interpret-core", "skops", "numpy", "pandas")}


def run_train(
    cfg: TrainParams,
    family: str,
    train_path: Path,
    valid_path: Path,
    out: Path,
    *,
    log: Callable[[str], Any] = print,
    practice_features: str = "include",
) -> dict[str, Any]:
    """Stage entry: read the splits, train ``family``, write ``out/model.skops`` and metadata.

    Parameters
    ----------
    cfg
        The ``train:`` section.
    family
        The family to train; must be listed in ``train.families``.
    train_path, valid_path
        The feature tables (parquet).
    out
        The model folder, e.g. ``models/<family>``.
    log
        Where progress lines go.
    practice_features
        ``features.practice_features`` (``include`` or ``exclude``).

    Returns
    -------
    dict
        The metadata written to ``out/metadata.json``.
    """
    if family not in cfg.families:
        raise OptionError(f"family {family!r} is not in train.families ({', '.join(cfg.families)})")
    train = add_group_inputs(pd.read_parquet(train_path))
    valid = add_group_inputs(pd.read_parquet(valid_path))
    inputs = select_inputs(
        list(train.columns), cfg.include_group_attributes, practice_features=practice_features
    )
    model, meta = train_family(family, cfg, train, valid, inputs)
    meta["view"] = _view_of(train, inputs)
    meta["practice_features"] = practice_features
    meta["data"] = {
        "train_path": str(train_path),
        "train_sha256": file_sha256(train_path),
        "valid_path": str(valid_path),
        "valid_sha256": file_sha256(valid_path),
    }
    meta["versions"] = _versions()
    # timings vary from run to run: they go to the log, never into the model folder, so the
    # same params give the same bytes and a rerun does not invalidate the stages downstream
    timings = {k: meta.pop(k) for k in ("fit_seconds", "calibrate_seconds")}
    save_model(model, out, meta)
    log(
        f"train {family}: {meta['n_train']} rows, {len(meta['inputs'])} inputs, "
        f"fit {timings['fit_seconds']:.1f}s, cut flags {meta['valid_flag_rate']:.1%} of valid "
        f"-> {out}"
    )
    return meta | timings
