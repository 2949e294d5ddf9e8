"""The summary's sentences that need more than one file: seed cases, fairness, practice.

Each function returns plain sentences (no code names, no backticks) or nothing when its inputs
are missing; :func:`secondlook.report.build._summary` puts them in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from secondlook.evaluate.headline import largest_disparity
from secondlook.report.fmt import family_name, finite, fmt_interval, fmt_share

__all__ = [
    "METRIC_WORDS",
    "fairness_headline",
    "fidelity_intro",
    "label_bias_intro",
    "practice_sentence",
    "seed_case_sentences",
    "stability_intro",
]

#: by-group rates in words (what a ratio of them compares)
METRIC_WORDS = {
    "flag_rate": "share of referrals flagged",
    "tpr": "share of referrals that warranted escalation and were flagged",
    "fpr": "share of referrals that did not warrant escalation and were still flagged",
    "fnr": "share of referrals that warranted escalation and were missed",
    "ppv": "share of flags that warranted escalation",
}

#: proxy labels in words
PROXY_WORDS = {
    "cp_plan_12m": "a child protection plan within 12 months",
    "rereferral_12m": "a re-referral within 12 months",
    "removal_12m": "a removal into care within 12 months",
}

#: group attributes in words
ATTRIBUTE_WORDS = {
    "ethnicity": "ethnic group",
    "deprivation_quintile": "deprivation quintile",
    "sex": "sex",
    "disability": "disability",
    "local_authority": "local authority",
}


def _group_words(attribute: str, group: str) -> str:
    if attribute == "disability":
        return (
            "disabled children"
            if group in ("True", "1", "true")
            else "children without a disability"
        )
    if attribute == "deprivation_quintile":
        return f"children in deprivation quintile {group}"
    if attribute == "local_authority":
        return f"children in local authority {group}"
    return f"children in the {ATTRIBUTE_WORDS.get(attribute, attribute.replace('_', ' '))} group {group}"


def fairness_headline(fairness: Mapping[str, Any] | None, candidate: str) -> str | None:
    """One sentence: the candidate's largest disparity whose whole interval is outside the band.

    Parameters
    ----------
    fairness
        The fairness stage's ``fairness.json`` (None when absent: no sentence).
    candidate
        The candidate family.

    Returns
    -------
    str or None
    """
    if not fairness or candidate not in (fairness.get("families") or {}):
        return None
    d = largest_disparity(fairness, candidate)
    band = fairness.get("parity_band") or [0.8, 1.25]
    if d is None:
        return (
            f"Fairness: no disparity of the {family_name(candidate)} model is clearly outside "
            f"the parity band ({band[0]} to {band[1]} times the reference group's rate) — either "
            "inside it or too uncertain to say; section 9 has every group."
        )
    times = fmt_interval(d["ratio"], d["ratio_lo"], d["ratio_hi"])
    ref = _group_words(d["attribute"], d["reference"])
    rate = ""
    if finite(d.get("value")) and finite(d.get("reference_value")):
        rate = f" ({fmt_share(d['value'])} against {fmt_share(d['reference_value'])})"
    return (
        f"Fairness: the largest disparity clearly outside the parity band is for "
        f"{_group_words(d['attribute'], d['group'])}: their "
        f"{METRIC_WORDS.get(d['metric'], d['metric'])} is {times} times that of {ref}{rate}. "
        "Section 9 has every group, with the disparities that are too uncertain to call."
    )


def practice_sentence(practice: pd.DataFrame, candidate: str, level: str) -> str | None:
    """The practice comparison in percentage points, with its caveat in the same breath.

    ``level`` is the interval's level in words (``"95%"``, from ``evaluate.ci``).
    """
    if (
        practice.empty
        or candidate not in set(practice["who"])
        or "practice" not in set(practice["who"])
    ):
        return None
    p = practice.set_index("who")
    pts = [
        float(str(p.loc[candidate, k])) for k in ("vs_practice", "vs_practice_lo", "vs_practice_hi")
    ]
    diff = (
        f"{100 * pts[0]:.0f} percentage points"
        + (
            f" ({level} interval {100 * pts[1]:.0f} to {100 * pts[2]:.0f})"
            if finite(pts[1]) and finite(pts[2])
            else ""
        )
        if finite(pts[0])
        else "not computed"
    )
    return (
        f"At the same workload as practice ({int(float(str(p.loc['practice', 'escalations']))):,} "
        f"enquiries), practice reached {fmt_share(p.loc['practice', 'recall'])} of the "
        f"referrals that warranted escalation and the candidate "
        f"{fmt_share(p.loc[candidate, 'recall'])}: a difference of {diff}. Practice in this "
        "world is simulated to fail in the ways case reviews report (section 8), so this "
        "measures the model against those planted failures, not against real social workers."
    )


def _truthy(x: Any) -> bool:
    return str(x).strip().lower() in ("true", "1", "yes")


def seed_case_sentences(
    seed_cases: Path,
    summary: Mapping[str, Any],
    vignettes: Path,
    reasons: Path,
    candidate: str,
    label: str = "warrants_escalation",
) -> list[str]:
    """One sentence per seed case: which of its warranted decisions the candidate flags.

    Parameters
    ----------
    seed_cases
        The evaluate stage's ``seed-cases.csv`` (a row per seed-case decision with each family's
        score and flag and the labels).
    summary
        The generate stage's ``summary.json`` (its ``seed_cases``: name -> decision ids).
    vignettes
        The folder of vignette files (for each case's title).
    reasons
        The explain stage's ``reasons/<candidate>.csv`` (top reasons per test decision).
    candidate
        The candidate family.
    label
        The headline label.

    Returns
    -------
    list of str
        Empty when the seed-case table is missing. A missed decision is named, with the
        candidate's top three reasons when they were computed.
    """
    if not seed_cases.is_file() or not candidate:
        return []
    try:
        table = pd.read_csv(seed_cases, dtype=str).set_index("decision_id")
    except pd.errors.EmptyDataError:
        return []
    flag_col, label_col = f"{candidate}_flag", f"label_{label}"
    if flag_col not in table.columns or label_col not in table.columns:
        return []
    why = pd.DataFrame()
    if reasons.is_file():
        why = pd.read_csv(reasons, dtype={"decision_id": str})
    out = []
    for name, ids in sorted((summary.get("seed_cases") or {}).items()):
        vfile = vignettes / f"{name}.yaml"
        title = ""
        if vfile.is_file():
            title = str((yaml.safe_load(vfile.read_text(encoding="utf-8")) or {}).get("title", ""))
        rows = table.loc[[d for d in ids if d in table.index]]
        warranted = [d for d in rows.index if _truthy(rows.loc[d, label_col])]
        head = f"Seed case {name}" + (f" ({title[:1].lower() + title[1:]})" if title else "")
        if not warranted:
            out.append(
                f"{head}: none of its {len(rows)} scored decisions warranted escalation; the "
                f"{family_name(candidate)} model flags "
                f"{sum(_truthy(rows.loc[d, flag_col]) for d in rows.index)} of them."
            )
            continue
        flagged = [d for d in warranted if _truthy(rows.loc[d, flag_col])]
        missed = [d for d in warranted if d not in flagged]
        text = (
            f"{head}: {len(warranted)} of its {len(rows)} decisions warranted escalation; the "
            f"{family_name(candidate)} model flags "
            + (f"{', '.join(flagged)}" if flagged else "none of them")
        )
        if missed:
            text += f" and does not flag {', '.join(missed)}."
            for d in missed:
                rs = why[why["decision_id"] == d].sort_values("rank") if not why.empty else why
                if len(rs):
                    top = rs.head(3)
                    marks = (
                        top["against_guidance"].map(_truthy)
                        if "against_guidance" in top
                        else pd.Series(False, index=top.index)
                    )
                    reasons_text = "; ".join(
                        f"{s} (against guidance)" if m else str(s)
                        for s, m in zip(top["sentence"], marks, strict=True)
                    )
                    text += f" Its top reasons for {d}: {reasons_text}."
                    if marks.any():
                        text += (
                            " A reason marked against guidance lowers the score for something "
                            "guidance treats as a concern (section 10)."
                        )
                else:
                    text += f" The review pack of {d} gives its reasons."
        else:
            text += "."
        out.append(text)
    return out


def _pct(x: Any) -> str:
    return fmt_share(x) if finite(x) else "not computed"


def _per_family(
    doc: Mapping[str, Any], candidate: str
) -> tuple[dict[str, Mapping[str, Any]], Mapping[str, Any] | None]:
    """An explain output's per-family entries (those that are mappings) and the candidate's."""
    rows = {f: v for f, v in doc.items() if isinstance(v, Mapping)}
    return rows, rows.get(candidate)


def fidelity_intro(fidelity: Mapping[str, Any], candidate: str) -> tuple[str, ...]:
    """Two or three plain sentences on how well the reasons match the truth's drivers."""
    rows, c = _per_family(fidelity, candidate)
    if not rows:
        return ()
    out = []
    if c:
        out.append(
            f"For the candidate, {family_name(candidate)}, on average "
            f"{_pct(c.get('top_k_overlap'))} of a referral's top {c.get('top_k', 3)} reasons "
            f"point to one of the top {c.get('top_k', 3)} hidden factors that truly drove that "
            "child's risk in the simulation."
        )
    ranked = sorted(rows, key=lambda f: float(rows[f].get("top_k_overlap") or 0.0))
    lo, hi = ranked[0], ranked[-1]
    out.append(
        f"Across the families this ranges from {_pct(rows[lo].get('top_k_overlap'))} "
        f"({family_name(lo)}) to {_pct(rows[hi].get('top_k_overlap'))} ({family_name(hi)})."
    )
    out.append(
        "Reasons describe what the record shows, not the hidden cause: a model can rank well "
        "while its reasons point to signals of a factor rather than to the factor itself."
    )
    return tuple(out)


def stability_intro(stability: Mapping[str, Any], candidate: str) -> tuple[str, ...]:
    """Two or three plain sentences on how much the reasons move when a model is refitted."""
    rows, c = _per_family(stability, candidate)
    if not rows:
        return ()
    out = []
    if c:
        out.append(
            f"Refitted on {c.get('n_boot', 'several')} resamples of the training data, the "
            f"candidate, {family_name(candidate)}, kept on average "
            f"{_pct(c.get('top_k_same_mean'))} of each referral's top {c.get('top_k', 3)} "
            f"reasons, and {_pct(c.get('top_k_always_same'))} of referrals kept all of them "
            "in every refit."
        )
    least = min(rows, key=lambda f: float(rows[f].get("top_k_same_mean") or 0.0))
    out.append(
        f"The least stable family is {family_name(least)} "
        f"({_pct(rows[least].get('top_k_same_mean'))} of top reasons kept); the rules "
        "checklist does not change with the data, so its reasons never move."
        if "rules" in rows
        else f"The least stable family is {family_name(least)}."
    )
    return tuple(out)


def label_bias_intro(records: list[Mapping[str, Any]]) -> tuple[str, ...]:
    """Two or three plain sentences on what the label-bias study found."""
    rows = [r for r in records if isinstance(r, Mapping) and finite(r.get("from_label"))]
    if not rows:
        return ()
    big = max(rows, key=lambda r: abs(float(r["from_label"])))
    metric = METRIC_WORDS.get(str(big.get("metric")), str(big.get("metric")))
    group = _group_words(str(big.get("attribute")), str(big.get("group")))
    label_share = sum(abs(float(r["from_label"])) for r in rows)
    world_share = sum(abs(float(r.get("from_world") or 0.0)) for r in rows)
    total = label_share + world_share
    out = [
        "This study asks, for each disparity, how much of what a proxy label shows comes from "
        "the label itself (which follows practice's own decisions) and how much from the world "
        "the simulation plants (surveillance bias and disproportionality).",
        f"Over {len(rows)} comparisons, "
        + (
            f"the label accounts for {100 * label_share / total:.0f}% of the size of the "
            f"distortions and the planted world biases for {100 * world_share / total:.0f}%."
            if total > 0
            else "neither the label nor the world moves the disparities."
        ),
    ]
    if finite(big.get("ratio_proxy_as_generated")) and finite(big.get("ratio_truth_as_generated")):
        out.append(
            f"The largest distortion from a label: the {metric} for {group}, measured with "
            f"{PROXY_WORDS.get(str(big.get('proxy')), 'a proxy label')}, is "
            f"{float(big['ratio_proxy_as_generated']):.2f} times the reference "
            f"group's; measured with the truth it is {float(big['ratio_truth_as_generated']):.2f}."
        )
    return tuple(out)
