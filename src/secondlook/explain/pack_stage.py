"""The explain stage's case review packs: which decisions get one, each pack written, and the
index page (called by :func:`secondlook.explain.stage.run_explain`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secondlook.explain.contributions import explain_model, family_of
from secondlook.explain.packs import (
    OUTCOME_SHORT,
    build_case_review,
    case_events,
    chance_text,
    render_case_review,
)
from secondlook.explain.sample import PACK_KINDS, SEED_KIND, pack_sample
from secondlook.features.reference import reference_sentence
from secondlook.models import (
    CalibratedModel,
    RulesModel,
)
from secondlook.models.rules import RULE_TEXT
from secondlook.params import ExplainParams

__all__ = ["pack_family", "pack_rows_for", "packs_index_html", "write_packs"]


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


def _practice_words(outcome: Any) -> str:
    """What practice decided, in the index's few words (the code itself if it has none)."""
    if not isinstance(outcome, str) or not outcome:  # None, NaN or NA: nothing recorded
        return "not recorded"
    return OUTCOME_SHORT.get(str(outcome), str(outcome))


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


def write_packs(
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
                "practice": _practice_words(row.get("practice_outcome")),
                "kind": str(row.get("pack_kind", SEED_KIND)),
            }
        )
    return index


def packs_index_html(index: list[dict[str, Any]], family: str) -> str:
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


def pack_rows_for(
    cfg: ExplainParams,
    models: Mapping[str, CalibratedModel],
    splits: Mapping[str, pd.DataFrame],
    test: pd.DataFrame,
    warranted: pd.Series,
    rng: np.random.Generator,
    seed_prefixes: tuple[str, ...],
    *,
    observed: bool = False,
) -> pd.DataFrame:
    """Every seed-case decision, and a sample of test decisions drawn evenly from each kind of
    outcome (flagged and warranted, flagged without cause, missed), with ``pack_kind``.

    ``warranted`` is the truth's ``warrants_escalation``, or with ``observed`` (real records:
    no ground truth) the observed label, and the kinds say so (``observed:<kind>``)."""
    pack_model = models[pack_family(cfg, models)]
    chosen, chosen_kinds = pack_sample(
        pack_model.flag(test), warranted.to_numpy(dtype=bool), cfg.n_packs, rng
    )
    if observed:
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
    return pack_rows
