"""The ``explain`` stage: contributions, global plots, reasons, fidelity, stability, case reviews.

:func:`explain_split` is the pure core for one family (a model and frames in, tables and
metrics out); :func:`run_explain` is the stage entry the CLI calls with the paths dvc.yaml
passes. It writes::

    <out>/summary.json                 scale, additivity error and timing per family (metrics)
    <out>/fidelity.json                fidelity against the truth's drivers per family (metrics)
    <out>/stability.json               bootstrap stability per family (metrics)
    <out>/global/<family>/             importance.csv/.png, beeswarm.png, dependence-<feature>.png
    <out>/global/fidelity-by-factor.csv
    <out>/reasons/<family>.csv         top-k reasons of every test decision
    <out>/reasons/<family>-factors.csv contributions summed by hidden factor
    <packs>/<decision_id>.html         case review packs, and index.html
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap

from secondlook.errors import InputError, MissingInputError
from secondlook.explain.contributions import additivity_error, explain_model, family_of
from secondlook.explain.fidelity import fidelity
from secondlook.explain.packs import (
    build_case_review,
    case_events,
    render_case_review,
)
from secondlook.explain.plots import (
    beeswarm_figure,
    dependence_figure,
    importance_figure,
    save_png,
)
from secondlook.explain.reasons import factor_contributions, top_reasons
from secondlook.explain.stability import global_importance, stability
from secondlook.models import (
    CalibratedModel,
    RulesModel,
    add_group_inputs,
    label_column,
    load_model,
    make_family,
)
from secondlook.models.rules import RULE_TEXT
from secondlook.params import ExplainParams, TrainParams

__all__ = ["FamilyExplanation", "explain_split", "reasons_frame", "run_explain"]


@dataclasses.dataclass
class FamilyExplanation:
    """One family's explanation of a split.

    Attributes
    ----------
    explanation
        The :class:`shap.Explanation` of every row.
    reasons
        Long table: ``decision_id``, ``rank``, ``feature``, ``value``, ``contribution``,
        ``sentence``.
    factors
        ``decision_id`` and one column per hidden factor (plus ``other``).
    summary
        ``margin_scale``, ``additivity_max_error``, ``rows`` (timings go to the log only).
    fidelity
        The fidelity summary (see :func:`secondlook.explain.fidelity.fidelity`), or None
        without truth.
    """

    explanation: shap.Explanation
    reasons: pd.DataFrame
    factors: pd.DataFrame
    summary: dict[str, Any]
    fidelity: Any = None


def reasons_frame(explanation: shap.Explanation, decision_ids: Any, k: int) -> pd.DataFrame:
    """:func:`top_reasons` as a long table with ``decision_id`` and ``rank`` (1 = largest)."""
    rows: list[dict[str, Any]] = []
    for did, reasons in zip(np.asarray(decision_ids), top_reasons(explanation, k), strict=True):
        for rank, r in enumerate(reasons, start=1):
            rows.append({"decision_id": did, "rank": rank, **r})
    cols = ["decision_id", "rank", "feature", "value", "contribution", "sentence"]
    return pd.DataFrame(rows, columns=cols)


def explain_split(
    model: CalibratedModel,
    frame: pd.DataFrame,
    *,
    top_k: int,
    truth: pd.DataFrame | None = None,
    fidelity_k: int = 3,
) -> FamilyExplanation:
    """Explain every row of ``frame`` with ``model`` and compare with the truth if given.

    Parameters
    ----------
    model
        A fitted, calibrated model.
    frame
        A feature table with ``decision_id`` and the model's inputs.
    top_k
        Reasons per decision.
    truth
        Truth rows aligned with ``frame`` (``driver_*`` columns), or None.
    fidelity_k
        Factors compared per decision.

    Returns
    -------
    FamilyExplanation
    """
    expl = explain_model(model, frame, check_additivity=False)
    err = additivity_error(expl, model.decision_function(frame))
    ids = frame["decision_id"].to_numpy()
    factors = factor_contributions(expl)
    factors.insert(0, "decision_id", ids)
    summary = {
        "margin_scale": family_of(model).margin_scale,
        "additivity_max_error": err,
        "rows": len(frame),
    }
    fid = None
    if truth is not None:
        fid = fidelity(expl, truth, k=fidelity_k, decision_ids=ids)
    return FamilyExplanation(expl, reasons_frame(expl, ids, top_k), factors, summary, fid)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, float):
            return round(x, 6) if abs(x) >= 1e-4 or x == 0 else float(f"{x:.3g}")
        return x

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(dict(data)), indent=2, sort_keys=True) + "\n")


def _global_outputs(
    family: str, fe: FamilyExplanation, folder: Path, cfg: ExplainParams, rng: np.random.Generator
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    imp = global_importance(fe.explanation)
    imp.to_frame().to_csv(folder / "importance.csv", float_format="%.6g")
    scale = fe.summary["margin_scale"]
    n = len(fe.explanation.values)
    rows = (
        np.sort(rng.choice(n, size=min(cfg.plot_rows, n), replace=False))
        if n
        else np.zeros(0, dtype=np.int64)
    )
    sample = fe.explanation[rows] if n else fe.explanation
    title = f"{family}: contributions to the margin ({scale})"
    save_png(importance_figure(fe.explanation, title=title, scale=scale), folder / "importance.png")
    if n:
        save_png(beeswarm_figure(sample, title=title), folder / "beeswarm.png")
        for feature in imp.index[: cfg.n_dependence]:
            if imp[feature] > 0:
                save_png(
                    dependence_figure(sample, str(feature), title=f"{family}: {feature}"),
                    folder / f"dependence-{feature}.png",
                )


def _split_note(split: str) -> str | None:
    if split == "train":
        return (
            "This decision is in the training data of the models (the seed cases are placed in "
            "the simulated world), so its score is in-sample and likely to be more confident "
            "than for a new referral."
        )
    if split == "valid":
        return (
            "This decision is in the validation data used to calibrate the models' scores and "
            "set the flag cut."
        )
    return None


def _packs(
    models: Mapping[str, CalibratedModel],
    rows: pd.DataFrame,
    cfg: ExplainParams,
    raw: Mapping[str, pd.DataFrame],
    packs_dir: Path,
) -> list[dict[str, Any]]:
    family = cfg.pack_family if cfg.pack_family in models else next(iter(models))
    model = models[family]
    expl = explain_model(model, rows)
    probs = {f: m.probability(rows) for f, m in models.items()}
    flags = {f: m.flag(rows) for f, m in models.items()}
    checklist_items = None
    if "rules" in models and isinstance(models["rules"].family, RulesModel):
        rules: RulesModel = models["rules"].family  # type: ignore[assignment]
        checklist_items = rules.items(rows)
        texts = {c["item"]: c["text"] for c in rules.checklist()}
    else:
        texts = dict(RULE_TEXT)
    truth = raw["truth"].set_index("decision_id")
    decisions = raw["decisions"].set_index("decision_id")
    index = []
    packs_dir.mkdir(parents=True, exist_ok=True)
    for i, (_, row) in enumerate(rows.iterrows()):
        did = str(row["decision_id"])
        dec = decisions.loc[did]
        events = case_events(
            raw["events"],
            raw["people"],
            str(dec["household_id"]),
            str(dec["person_id"]),
            pd.Timestamp(row["decision_date"]),
        )
        checklist = []
        if checklist_items is not None:
            held = checklist_items.iloc[i]
            checklist = [texts[item] for item in held.index if held[item]]
        review = build_case_review(
            row,
            expl[i : i + 1],
            family=family,
            unit=family_of(model).margin_scale,
            probability=float(probs[family][i]),
            flagged=bool(flags[family][i]),
            threshold=float(model.threshold_),
            capacity=float(model.capacity),
            events=events,
            top_k=cfg.top_k,
            checklist=checklist,
            other_models=[
                {
                    "family": f,
                    "probability_text": f"{100 * probs[f][i]:.0f}%",
                    "flagged": bool(flags[f][i]),
                }
                for f in models
            ],
            truth=truth.loc[did] if did in truth.index else None,  # type: ignore[arg-type]
            sample_note=_split_note(str(row.get("split", ""))),
        )
        (packs_dir / f"{did}.html").write_text(render_case_review(review))
        index.append(
            {
                "decision_id": did,
                "decision_date": review.decision_date,
                "probability": review.probability_text,
                "flagged": review.flagged,
                "practice": str(row.get("practice_outcome", "")),
            }
        )
    return index


def _index_html(index: list[dict[str, Any]], family: str) -> str:
    import html

    items = "\n".join(
        f'<tr><td><a href="{html.escape(r["decision_id"])}.html">{html.escape(r["decision_id"])}'
        f"</a></td><td>{r['decision_date']}</td><td>{r['probability']}</td>"
        f"<td>{'yes' if r['flagged'] else 'no'}</td><td>{html.escape(r['practice'])}</td></tr>"
        for r in index
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Case reviews</title>'
        "</head><body><h1>Case review packs (synthetic data, research use only)</h1>"
        f"<p>Reasons from the <strong>{html.escape(family)}</strong> model.</p><table border=1>"
        "<tr><th>decision</th><th>date</th><th>estimated chance</th><th>flagged</th>"
        f"<th>practice decided</th></tr>\n{items}\n</table></body></html>\n"
    )


def run_explain(
    cfg: ExplainParams,
    train_cfg: TrainParams,
    models_dir: Path,
    features_dir: Path,
    raw_dir: Path,
    out: Path,
    packs_dir: Path,
    *,
    seed_prefixes: tuple[str, ...] = (),
    track: bool = False,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Stage entry: explain every family on the test split and write every output.

    Parameters
    ----------
    cfg, train_cfg
        The ``explain:`` and ``train:`` sections.
    models_dir
        Folder holding ``<family>/model.skops`` for every family in ``train.families``.
    features_dir
        Folder holding ``train.parquet``, ``valid.parquet`` and ``test.parquet``.
    raw_dir
        Folder holding the canonical tables ``events``, ``people``, ``decisions``, ``truth``.
    out
        ``reports/explanations``.
    packs_dir
        ``reports/case-reviews``.
    seed_prefixes
        Decision-id prefixes of the seed cases (``sarah-``, ``john-``); each of their decisions
        gets a pack whatever its split.
    track
        Log metrics and artifacts to MLflow through :mod:`secondlook.tracking`.
    log
        Where progress lines go.

    Returns
    -------
    dict
        ``summary``, ``fidelity`` and ``stability`` as written.
    """
    splits = {}
    for split in ("train", "valid", "test"):
        path = features_dir / f"{split}.parquet"
        if not path.is_file():
            raise MissingInputError(f"{path} not found; run `dvc repro featurize` first")
        splits[split] = add_group_inputs(pd.read_parquet(path)).assign(split=split)
    raw = {}
    for table in ("events", "people", "decisions", "truth"):
        path = raw_dir / f"{table}.parquet"
        if not path.is_file():
            raise MissingInputError(f"{path} not found; run `dvc repro generate` first")
        raw[table] = pd.read_parquet(path)
    models = {f: load_model(models_dir / f) for f in train_cfg.families}
    test = splits["test"].reset_index(drop=True)
    truth = raw["truth"].set_index("decision_id").reindex(test["decision_id"])
    if truth["true_risk_12m"].isna().any():
        raise InputError("truth: some test decisions have no truth row")
    rng = np.random.default_rng(cfg.seed)
    summary: dict[str, Any] = {}
    fid: dict[str, Any] = {}
    stab: dict[str, Any] = {}
    by_factor = []
    label = label_column(train_cfg.label)
    train = splits["train"]
    stab_rows = np.sort(
        rng.choice(len(test), size=min(cfg.stability_rows, len(test)), replace=False)
    )
    for family, model in models.items():
        fe = explain_split(model, test, top_k=cfg.top_k, truth=truth, fidelity_k=cfg.fidelity_k)
        summary[family] = fe.summary
        fid[family] = dict(fe.fidelity)
        by_factor.append(fe.fidelity.per_factor.assign(family=family))
        (out / "reasons").mkdir(parents=True, exist_ok=True)
        fe.reasons.to_csv(out / "reasons" / f"{family}.csv", index=False, float_format="%.6g")
        fe.factors.to_csv(
            out / "reasons" / f"{family}-factors.csv", index=False, float_format="%.6g"
        )
        _global_outputs(family, fe, out / "global" / family, cfg, rng)
        t0 = time.perf_counter()
        inputs = list(model.family.inputs_)
        stab[family] = stability(
            model,
            functools.partial(make_family, family, train_cfg),
            train[inputs],
            train[label].to_numpy(),
            test.iloc[stab_rows],
            n_boot=cfg.n_boot,
            seed=cfg.seed,
            k=cfg.fidelity_k,
        )
        log(
            f"explain {family}: {fe.summary['rows']} rows, stability refits in "
            f"{time.perf_counter() - t0:.1f}s, "
            f"additivity error {fe.summary['additivity_max_error']:.1e}, top-{cfg.fidelity_k} "
            f"overlap with truth {fid[family]['top_k_overlap']:.2f}, spearman "
            f"{fid[family]['spearman']:.2f}, tau {stab[family]['kendall_tau_mean']:.2f}"
        )
    pd.concat(by_factor).to_csv(
        out / "global" / "fidelity-by-factor.csv", index=False, float_format="%.6g"
    )
    _write_json(out / "summary.json", summary)
    _write_json(out / "fidelity.json", fid)
    _write_json(out / "stability.json", stab)

    # case review packs: a sample of flagged test decisions, and every seed-case decision
    pack_model = models.get(cfg.pack_family, next(iter(models.values())))
    flagged = np.flatnonzero(pack_model.flag(test))
    chosen = np.sort(rng.choice(flagged, size=min(cfg.n_packs, len(flagged)), replace=False))
    everything = pd.concat(splits.values(), ignore_index=True)
    seeds = (
        everything[everything["decision_id"].astype(str).str.startswith(seed_prefixes)]
        if (seed_prefixes)
        else everything.iloc[:0]
    )
    pack_rows = (
        pd.concat([seeds, test.iloc[chosen]], ignore_index=True)
        .drop_duplicates("decision_id")
        .reset_index(drop=True)
    )
    index = _packs(models, pack_rows, cfg, raw, packs_dir) if len(pack_rows) else []
    (packs_dir / "index.html").parent.mkdir(parents=True, exist_ok=True)
    (packs_dir / "index.html").write_text(_index_html(index, cfg.pack_family))
    log(f"explain: {len(index)} case review packs -> {packs_dir}")

    if track:
        from secondlook import tracking

        metrics = {
            f"{kind}.{family}.{k}": v
            for kind, table in (("fidelity", fid), ("stability", stab), ("explain", summary))
            for family, values in table.items()
            for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        tracking.log_stage_run(
            "explain",
            params={"explain": cfg},
            metrics=metrics,
            artifacts=[
                out / "summary.json",
                out / "fidelity.json",
                out / "stability.json",
                out / "global",
            ],
        )
    return {"summary": summary, "fidelity": fid, "stability": stab, "packs": index}
