"""One world of a sweep as a pure task: (params, seed) -> one row of estimands.

:func:`run_world` runs generate -> featurize -> train -> evaluate -> fidelity in-process, with
no plots, packs, report or files, by calling the stages' own pure functions
(:func:`secondlook.synth.stage.build_world`, :func:`secondlook.features.stage.assemble`,
:func:`secondlook.models.fit_family`, :mod:`secondlook.sweep.estimands`). A :class:`WorldTask`
holds plain data only, so it pickles to a Dask worker on another machine; its :attr:`key`
hashes the params, the seed, the world size, the families, the seed cases and the package's
code, so a finished world can be cached and a rerun skips it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.params import load_section

__all__ = ["ID_COLUMNS", "WorldTask", "code_hash", "make_tasks", "run_world", "world_tables"]

#: fewest decisions of either class in the train and valid splits for a proxy-trained model
#: (set when a world ran train_family, whose calibration comparison splits the valid split into
#: 5 stratified folds; kept so that the same tiny worlds have a proxy model)
MIN_CLASS = 5

#: identifying columns that lead every row (the estimands follow)
ID_COLUMNS = ("design", "scenario", "seed", "n_households", "world_key")


#: the package's modules a world runs (the sweep's DVC stage lists the same as its deps)
CODE = (
    "params", "schema.py", "errors.py", "studies.py", "synth", "features", "models", "evaluate", "explain",
    "sweep",
)  # fmt: skip


@cache
def code_hash() -> str:
    """SHA-256 over the sources a world runs (path and bytes of every ``*.py`` in :data:`CODE`).

    A change to any of them changes it, so cached worlds computed by older code are never
    reused; a change elsewhere (the report, the CLI) keeps the cache.
    """
    root = Path(__file__).resolve().parents[1]
    files: list[Path] = []
    for name in CODE:
        path = root / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class WorldTask:
    """One world: which design and scenario it belongs to, its params, seed and size.

    Attributes
    ----------
    design, scenario
        Names (identify the row; not part of the cache key, so two designs sharing a world
        share its cached row).
    params
        The full params mapping of the scenario (``synth.seed`` is replaced by ``seed``).
    seed
        The world's seed.
    n_households
        World size.
    families
        Families trained (in report order).
    vignettes
        Seed-case YAML texts by name (``synth.vignettes``), or empty: text, not objects, so the
        task is plain data.
    code
        :func:`code_hash` as the client saw it when it made the task (default: computed when
        the key is first asked for). Carried in the task so a worker never recomputes it from
        files that may have changed since the sweep started.
    """

    design: str
    scenario: str
    params: Mapping[str, Any]
    seed: int
    n_households: int
    families: tuple[str, ...]
    vignettes: tuple[tuple[str, str], ...] = ()
    code: str = ""

    @property
    def key(self) -> str:
        """Hash of everything that determines the row, code included (hex, 24 characters)."""
        payload = json.dumps(
            {
                "params": self.params,
                "seed": self.seed,
                "n_households": self.n_households,
                "families": list(self.families),
                "vignettes": [list(v) for v in self.vignettes],
                "code": self.code or code_hash(),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def world_params(self) -> dict[str, Any]:
        """``params`` with ``synth.seed`` set to :attr:`seed` and ``n_households`` to the size."""
        out = copy.deepcopy(dict(self.params))
        out["synth"] = dict(out["synth"]) | {"seed": self.seed, "n_households": self.n_households}
        return out


def _vignettes(task: WorldTask) -> list[Any]:
    import tempfile

    from secondlook.synth.vignettes import load_vignette

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in task.vignettes:
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(text)
            out.append(load_vignette(path))
    return out


def world_tables(task: WorldTask) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """Simulate the task's world: its canonical tables and its calibration figures.

    Returns
    -------
    (tables, calibration)
        ``households``, ``people``, ``events``, ``decisions``, ``truth``; and
        :func:`secondlook.synth.calibration.measure`'s figures plus ``calibration_within``
        (how many of them lie within their published tolerance).
    """
    from secondlook.synth.calibration import TARGETS, measure
    from secondlook.synth.stage import build_world

    params = task.world_params()
    synth = load_section("synth", params)
    world, tables = build_world(synth, _vignettes(task))
    figures = measure(world, tables, synth)
    within = sum(t.low <= figures[t.key] <= t.high for t in TARGETS)
    calibration = {f"calibration.{k}": float(v) for k, v in figures.items()}
    calibration["calibration_within"] = float(within)
    calibration["calibration_total"] = float(len(TARGETS))
    return tables, calibration


def _train_cfg(params: Mapping[str, Any], label: str | None = None) -> Any:
    p = copy.deepcopy(dict(params))
    if label is not None:
        p["train"] = dict(p["train"]) | {"label": label}
    return load_section("train", p)


def _seed_cases(task: WorldTask, splits: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Feature rows of the seed-case decisions (any split), or None without seed cases."""
    names = tuple(name for name, _ in task.vignettes)
    if not names:
        return None
    everything = pd.concat(list(splits.values()), ignore_index=True)
    ids = everything["decision_id"].astype(str)
    return everything[ids.str.startswith(tuple(f"{n}-" for n in names))]


def _pattern_features(task: WorldTask) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seed patterns' variants in this world: their feature rows and marks.

    ``evaluate.pattern_variants`` variants of each pattern, drawn with ``evaluate.pattern_seed``
    plus the world's seed (so the variants, like the world, differ between seeds).
    """
    from secondlook.features import build_features
    from secondlook.models import add_group_inputs
    from secondlook.synth.patterns import pattern_tables

    params = task.world_params()
    ev = load_section("evaluate", params)
    tables = pattern_tables(
        ev.pattern_variants, ev.pattern_seed + task.seed, load_section("synth", params)
    )
    features = add_group_inputs(
        build_features(
            tables["households"], tables["people"], tables["events"], tables["decisions"]
        )
    )
    return features, tables["marks"]


def _fit_models(
    task: WorldTask, splits: Mapping[str, pd.DataFrame]
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The design's families, the proxy-trained logistic models and the truth-trained one.

    Returns
    -------
    (models, proxy_models, truth_logreg)
        A proxy with fewer than :data:`MIN_CLASS` decisions of either class in the train or
        valid split (tiny worlds: removals are rare) has no model.
    """
    from secondlook.models import fit_family, label_column, select_inputs
    from secondlook.sweep.estimands import PROXY_TRAINED

    params = task.world_params()
    train, valid = splits["train"], splits["valid"]
    train_cfg = _train_cfg(params)
    truth_label = load_section("evaluate", params).label
    inputs = select_inputs(list(train.columns), train_cfg.include_group_attributes)

    def fit(family: str, label: str | None = None) -> Any:
        return fit_family(family, _train_cfg(params, label), train, valid, inputs)

    # fit_family: the model without train_family's metadata (calibrations compared by
    # cross-fitting, the clean-record reference), which a world never reads
    models = {f: fit_family(f, train_cfg, train, valid, inputs) for f in task.families}
    if train_cfg.label == truth_label and "logreg" in models:
        truth_logreg = models["logreg"]
    else:
        truth_logreg = fit("logreg", truth_label)
    proxy_models = {
        proxy: fit("logreg", proxy)
        for proxy in PROXY_TRAINED
        if all(
            min(s[label_column(proxy)].sum(), (~s[label_column(proxy)]).sum()) >= MIN_CLASS
            for s in (train, valid)
        )
    }
    return models, proxy_models, truth_logreg


def run_world(task: WorldTask) -> dict[str, Any]:
    """Run one world end to end and return its row of estimands.

    Parameters
    ----------
    task
        The world to run.

    Returns
    -------
    dict
        :data:`ID_COLUMNS`, then the world's sizes (``n_referrals``, ``n_test``,
        ``prevalence``), its calibration figures, every estimand of
        :func:`secondlook.sweep.estimands.world_estimands` and
        :func:`~secondlook.sweep.estimands.pattern_estimands`; and ``seconds`` (wall time;
        callers keep it out of the row's file so reruns are byte-identical).
    """
    from secondlook.features.stage import assemble
    from secondlook.models import add_group_inputs, label_column
    from secondlook.sweep.estimands import pattern_estimands, world_estimands

    t0 = time.perf_counter()
    params = task.world_params()
    tables, calibration = world_tables(task)
    evaluate_cfg = load_section("evaluate", params)
    fairness_cfg = load_section("fairness", params)
    splits = {
        k: add_group_inputs(v)
        for k, v in assemble(tables, load_section("features", params)).items()
    }
    test = splits["test"]
    models, proxy_models, truth_logreg = _fit_models(task, splits)
    truth = tables["truth"].set_index("decision_id").reindex(test["decision_id"])
    estimands = world_estimands(
        models,
        proxy_models,
        truth_logreg,
        test,
        truth,
        truth_label=evaluate_cfg.label,
        select_by=evaluate_cfg.select_by,
        attributes=fairness_cfg.attributes,
        min_cell=fairness_cfg.min_cell,
        fidelity_k=load_section("explain", params).fidelity_k,
        seed=evaluate_cfg.seed,
        seed_cases=_seed_cases(task, splits),
    )
    estimands |= pattern_estimands(models, *_pattern_features(task), estimands["candidate"] or None)
    y = test[label_column(evaluate_cfg.label)]
    row: dict[str, Any] = {
        "design": task.design,
        "scenario": task.scenario,
        "seed": task.seed,
        "n_households": task.n_households,
        "world_key": task.key,
        "n_referrals": int(len(tables["decisions"])),
        "n_test": int(len(test)),
        "prevalence": float(y.mean()) if len(y) else float("nan"),
    }
    row |= calibration
    row |= estimands
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


def make_tasks(design: Any, vignettes: Sequence[tuple[str, str]] = ()) -> list[WorldTask]:
    """One task per (scenario, seed) of a :class:`~secondlook.sweep.design.Design`, in order."""
    code = code_hash()
    return [
        WorldTask(
            design=design.name,
            scenario=s.name,
            params=s.params,
            seed=seed,
            n_households=design.n_households,
            families=design.families,
            vignettes=tuple(vignettes),
            code=code,
        )
        for s in design.scenarios
        for seed in design.seeds
    ]
