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
from secondlook.explain.fidelity import ceiling_fidelity, fidelity, raised_fidelity
from secondlook.explain.packs import (
    build_case_review,
    case_events,
    chance_text,
    render_case_review,
)
from secondlook.explain.plots import (
    beeswarm_figure,
    dependence_figure,
    importance_figure,
    save_png,
)
from secondlook.explain.reasons import against_guidance, factor_contributions, top_reasons
from secondlook.explain.sample import PACK_KINDS, SEED_KIND, pack_sample
from secondlook.explain.stability import global_importance, stability
from secondlook.features.reference import clean_record_reference, reference_sentence
from secondlook.fileio import json_ready, write_json
from secondlook.models import (
    CalibratedModel,
    RulesModel,
    add_group_inputs,
    label_column,
    load_model,
    make_family,
)
from secondlook.models.rules import RULE_TEXT
from secondlook.params import NO_GROUND_TRUTH, ExplainParams, TrainParams

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


def reasons_frame(
    explanation: shap.Explanation,
    decision_ids: Any,
    k: int,
    compare_to: pd.Series | None = None,
) -> pd.DataFrame:
    """:func:`top_reasons` as a long table with ``decision_id`` and ``rank`` (1 = largest).

    ``against_guidance`` marks a reason that moved the score against the catalogue's direction,
    the case's value compared with ``compare_to`` (the explanation's reference).
    """
    rows: list[dict[str, Any]] = []
    for did, reasons in zip(np.asarray(decision_ids), top_reasons(explanation, k), strict=True):
        for rank, r in enumerate(reasons, start=1):
            rows.append({"decision_id": did, "rank": rank, **r})
    cols = ["decision_id", "rank", "feature", "value", "contribution", "sentence"]
    out = pd.DataFrame(rows, columns=cols)
    ref = {} if compare_to is None else {str(k): float(v) for k, v in compare_to.items()}
    out["against_guidance"] = [
        against_guidance(f, c, v, ref.get(f)) is not None
        for f, c, v in zip(out["feature"], out["contribution"], out["value"], strict=True)
    ]
    return out


def explain_split(
    model: CalibratedModel,
    frame: pd.DataFrame,
    *,
    top_k: int,
    truth: pd.DataFrame | None = None,
    fidelity_k: int = 3,
    reference: pd.Series | None = None,
    compare_to: pd.Series | None = None,
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
    reference
        Measure contributions against this referral (the clean record); None: the mean.
    compare_to
        What a reason's value is compared with to tell whether it went against guidance
        (default ``reference``; with the mean-referenced explanation, the training mean).

    Returns
    -------
    FamilyExplanation
    """
    expl = explain_model(model, frame, check_additivity=False, reference=reference)
    err = additivity_error(expl, model.decision_function(frame))
    ids = frame["decision_id"].to_numpy()
    factors = factor_contributions(expl)
    factors.insert(0, "decision_id", ids)
    summary = {
        "margin_scale": family_of(model).margin_scale,
        "additivity_max_error": err,
        "rows": len(frame),
    }
    reasons = reasons_frame(expl, ids, top_k, reference if compare_to is None else compare_to)
    summary["reference"] = "mean" if reference is None else "clean_record"
    summary["reasons_against_guidance"] = int(reasons["against_guidance"].sum())
    summary["decisions_with_reason_against_guidance"] = int(
        reasons.loc[reasons["against_guidance"], "decision_id"].nunique()
    )
    fid = None
    if truth is not None:
        fid = fidelity(expl, truth, k=fidelity_k, decision_ids=ids)
        fid.update(raised_fidelity(expl, truth, k=fidelity_k))
    return FamilyExplanation(expl, reasons, factors, summary, fid)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    def rounded(x: Any) -> Any:  # 6 decimals (3 significant digits below 1e-4): stable bytes
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        if isinstance(x, float) and math.isfinite(x):
            return round(x, 6) if abs(x) >= 1e-4 or x == 0 else float(f"{x:.3g}")
        return x

    write_json(path, rounded(json_ready(dict(data))), sort_keys=True)


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
    title = f"{family}: contributions to the score"
    save_png(importance_figure(fe.explanation, title=title, scale=scale), folder / "importance.png")
    if n:
        save_png(beeswarm_figure(sample, title=title), folder / "beeswarm.png")
        for feature in imp.index[: cfg.n_dependence]:
            if imp[feature] > 0:
                save_png(
                    dependence_figure(sample, str(feature), title=family),
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


def pack_family(cfg: ExplainParams, models: Mapping[str, CalibratedModel]) -> str:
    """The family whose reasons the case review packs show.

    ``explain.pack_family`` when it was trained, else the first trained family (in
    ``train.families`` order); the packs and their index both name this one.
    """
    return cfg.pack_family if cfg.pack_family in models else next(iter(models))


def _kind_note(kind: str) -> str | None:
    if kind.startswith("observed:") and kind[9:] in PACK_KINDS:
        return (
            f"Sampled for review as: {PACK_KINDS[kind[9:]].lower()}, judged by the outcome "
            "recorded afterwards (real records have no ground truth)."
        )
    if kind in PACK_KINDS:
        return f"Sampled for review as: {PACK_KINDS[kind].lower()}."
    if kind == SEED_KIND:
        return "A seed case: every one of its decisions has a pack."
    return None


def _packs(
    models: Mapping[str, CalibratedModel],
    rows: pd.DataFrame,
    cfg: ExplainParams,
    raw: Mapping[str, pd.DataFrame],
    packs_dir: Path,
    references: Mapping[str, pd.Series | None] | None = None,
    compare: Mapping[str, pd.Series] | None = None,
) -> list[dict[str, Any]]:
    family = pack_family(cfg, models)
    model = models[family]
    reference = (references or {}).get(family)
    expl = explain_model(model, rows, reference=reference)
    reference_text = None if reference is None else reference_sentence(reference)
    intervals = {f: m.probability_interval(rows) for f, m in models.items()}
    probs = {f: iv[0] for f, iv in intervals.items()}
    flags = {f: m.flag(rows) for f, m in models.items()}
    checklist_items = None
    if "rules" in models and isinstance(models["rules"].family, RulesModel):
        rules: RulesModel = models["rules"].family  # type: ignore[assignment]
        checklist_items = rules.items(rows)
        texts = {c["item"]: c["text"] for c in rules.checklist()}
    else:
        texts = dict(RULE_TEXT)
    truth = raw["truth"].set_index("decision_id")
    if "true_risk_12m" not in truth.columns:  # real records: no truth panel in the packs
        truth = truth.iloc[:0]
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
            probability_low=float(intervals[family][1][i]),
            probability_high=float(intervals[family][2][i]),
            flagged=bool(flags[family][i]),
            threshold=float(model.threshold_),
            capacity=float(model.capacity),
            events=events,
            top_k=cfg.top_k,
            checklist=checklist,
            other_models=[
                {
                    "family": f,
                    "probability_text": chance_text(
                        float(probs[f][i]), float(intervals[f][1][i]), float(intervals[f][2][i])
                    ),
                    "cut_text": chance_text(float(m.threshold_)),
                    "flagged": bool(flags[f][i]),
                }
                for f, m in models.items()
            ],
            truth=truth.loc[did] if did in truth.index else None,  # type: ignore[arg-type]
            sample_note=" ".join(
                x
                for x in (
                    _kind_note(str(row.get("pack_kind", SEED_KIND))),
                    _split_note(str(row.get("split", ""))),
                )
                if x
            )
            or None,
            reference_text=reference_text,
            compare_to=(compare or {}).get(family),
        )
        (packs_dir / f"{did}.html").write_text(render_case_review(review))
        index.append(
            {
                "decision_id": did,
                "decision_date": review.decision_date,
                "probability": review.probability_text,
                "flagged": review.flagged,
                "practice": str(row.get("practice_outcome", "")),
                "kind": str(row.get("pack_kind", SEED_KIND)),
            }
        )
    return index


def _index_html(index: list[dict[str, Any]], family: str) -> str:
    """The packs' index: one table per kind of outcome, seed cases first."""
    import html

    titles = {SEED_KIND: "Seed cases (every decision, whatever its outcome)", **PACK_KINDS}
    if any(str(r.get("kind", "")).startswith("observed:") for r in index):
        # real records: the kinds are judged by the outcome recorded afterwards, not the truth
        titles = {
            f"observed:{k}": f"{v}, by the outcome recorded afterwards (no ground truth)"
            for k, v in PACK_KINDS.items()
        }
    parts = []
    for kind, title in titles.items():
        rows = [r for r in index if r.get("kind", SEED_KIND) == kind]
        items = "\n".join(
            f'<tr><td><a href="{html.escape(r["decision_id"])}.html">'
            f"{html.escape(r['decision_id'])}</a></td><td>{r['decision_date']}</td>"
            f"<td>{html.escape(r['probability'])}</td>"
            f"<td>{'yes' if r['flagged'] else 'no'}</td><td>{html.escape(r['practice'])}</td></tr>"
            for r in rows
        )
        parts.append(
            f'<h2 id="{kind.replace(":", "-")}">{html.escape(title)} ({len(rows)})</h2>'
            + (
                "<table><tr><th>decision</th><th>date</th><th>estimated chance (interval)</th>"
                f"<th>flagged</th><th>practice decided</th></tr>\n{items}\n</table>"
                if rows
                else "<p>No decision of this kind in the sample.</p>"
            )
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Case reviews</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;"
        "padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:.2rem .5rem;text-align:left}</style>"
        "</head><body><h1>Case review packs (synthetic data, research use only)</h1>"
        f"<p>Reasons from the <strong>{html.escape(family)}</strong> model. Besides the seed "
        "cases, the sample is drawn evenly (seeded) from three kinds of outcome on the test "
        "split, so that what the model misses and where it flags without cause are seen as "
        "well as what it gets right.</p>" + "\n".join(parts) + "</body></html>\n"
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
    # an imported cohort (data.source: cohort) has no ground truth: no fidelity, no ceiling
    has_truth = "true_risk_12m" in raw["truth"].columns
    truth = raw["truth"].set_index("decision_id").reindex(test["decision_id"])
    if has_truth and truth["true_risk_12m"].isna().any():
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
    references = {
        f: clean_record_reference(train, list(m.family.inputs_))
        if cfg.reference == "clean_record"
        else None
        for f, m in models.items()
    }
    compare: dict[str, pd.Series] = {}
    for f, m in models.items():
        ref = references[f]
        compare[f] = ref if ref is not None else train[list(m.family.inputs_)].mean()
    for family, model in models.items():
        fe = explain_split(
            model,
            test,
            top_k=cfg.top_k,
            truth=truth if has_truth else None,
            fidelity_k=cfg.fidelity_k,
            reference=references[family],
            compare_to=compare[family],
        )
        summary[family] = fe.summary
        if fe.fidelity is None:
            fid[family] = {"not_available": NO_GROUND_TRUTH}
        else:
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
        fidelity_text = (
            f"top-{cfg.fidelity_k} overlap with truth {fid[family]['top_k_overlap']:.2f}, "
            f"spearman {fid[family]['spearman']:.2f}"
            if has_truth
            else "fidelity not available (no ground truth)"
        )
        log(
            f"explain {family}: {fe.summary['rows']} rows, stability refits in "
            f"{time.perf_counter() - t0:.1f}s, "
            f"additivity error {fe.summary['additivity_max_error']:.1e}, {fidelity_text}, "
            f"tau {stab[family]['kendall_tau_mean']:.2f}"
        )
    train_truth = raw["truth"].set_index("decision_id").reindex(train["decision_id"])
    if has_truth and train_truth["true_risk_12m"].notna().all():
        # the ceiling is the same for every family; each entry carries it, so that the file
        # keeps one key per family
        ceiling = ceiling_fidelity(train_truth, truth, train_cfg.label, k=cfg.fidelity_k)
        for family in fid:
            fid[family].update({f"ceiling_{k}": v for k, v in ceiling.items()})
    if by_factor:
        pd.concat(by_factor).to_csv(
            out / "global" / "fidelity-by-factor.csv", index=False, float_format="%.6g"
        )
    _write_json(out / "summary.json", summary)
    _write_json(out / "fidelity.json", fid)
    _write_json(out / "stability.json", stab)

    # case review packs: every seed-case decision, and a sample of test decisions drawn evenly
    # from each kind of outcome (flagged and warranted, flagged without cause, missed)
    pack_model = models[pack_family(cfg, models)]
    # without ground truth, packs are drawn by the observed label (the kinds say so)
    warranted = truth["warrants_escalation"] if has_truth else test[label]
    chosen, chosen_kinds = pack_sample(
        pack_model.flag(test), warranted.to_numpy(dtype=bool), cfg.n_packs, rng
    )
    if not has_truth:
        chosen_kinds = [f"observed:{k}" for k in chosen_kinds]
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
    kinds = dict.fromkeys(seeds["decision_id"].astype(str), SEED_KIND) | {
        str(d): k
        for d, k in zip(test["decision_id"].iloc[chosen], chosen_kinds, strict=True)
        if str(d) not in set(seeds["decision_id"].astype(str))
    }
    pack_rows["pack_kind"] = pack_rows["decision_id"].astype(str).map(kinds)
    index = (
        _packs(models, pack_rows, cfg, raw, packs_dir, references, compare)
        if len(pack_rows)
        else []
    )
    (packs_dir / "index.html").parent.mkdir(parents=True, exist_ok=True)
    (packs_dir / "index.html").write_text(_index_html(index, pack_family(cfg, models)))
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
