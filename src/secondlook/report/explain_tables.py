"""The explanation section's tables in words: additivity, fidelity, stability, patterns, policy.

The explain, patterns and policy stages write JSON keyed by code names (``top_k_overlap``,
``sarah-D08_flag``); these functions pick the figures a panel reads and give each column a
plain heading, so no table is a dump of keys (and none is too wide to print).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from secondlook.report.fmt import family_name, finite, fmt_num, fmt_share
from secondlook.report.model import Table
from secondlook.schema import last_seed_decisions
from secondlook.synth.patterns import CONTROL_WORDS, CONTROLS, SEED_PATTERNS

__all__ = [
    "additivity_table",
    "fidelity_table",
    "patterns_table",
    "policy_table",
    "stability_table",
]

_REFERENCES = {
    "clean_record": "a referral with nothing recorded",
    "mean": "the average referral",
}
_SCALES = {"log-odds": "score units (log-odds)", "points": "checklist points"}


def _rows(data: Any, order: list[str]) -> list[tuple[str, Mapping[str, Any]]]:
    if not isinstance(data, Mapping):
        return []
    fams = [f for f in order if f in data] + [f for f in data if f not in order]
    return [(str(f), data[f]) for f in fams if isinstance(data[f], Mapping)]


def _pct(x: Any) -> str:
    return fmt_share(x) if finite(x) else "not computed"


def _count(x: Any) -> str:
    return f"{int(x):,}" if finite(x) else "not computed"


def _gap(err: Any) -> str:
    if not finite(err):
        return "not computed"
    return "under 0.001" if float(err) < 1e-3 else f"{float(err):.3f}"


def additivity_table(summary: Any, order: list[str]) -> Table | None:
    """What each family's reasons add up to, and the check that they do."""
    rows = []
    for f, r in _rows(summary, order):
        err = r.get("additivity_max_error")
        rows.append(
            (
                family_name(f),
                _SCALES.get(str(r.get("margin_scale")), str(r.get("margin_scale", ""))),
                _REFERENCES.get(str(r.get("reference")), str(r.get("reference", ""))),
                _gap(err),
                _count(r.get("decisions_with_reason_against_guidance")),
            )
        )
    if not rows:
        return None
    return Table(
        caption="What the reasons add up to, and the check that they do (test split)",
        columns=(
            "model family",
            "reasons are in",
            "measured against",
            "largest gap between the reasons' sum and the score",
            "referrals with a reason that goes against guidance",
        ),
        rows=tuple(rows),
        note="Each referral's reasons plus the score of the reference add up to its score; the "
        "gap column checks this on every test referral.",
    )


def fidelity_table(fidelity: Any, order: list[str]) -> Table | None:
    """How often each family's top reasons are the hidden factors that drove the risk."""
    rows = []
    k = 3
    for f, r in _rows(fidelity, order):
        k = int(r.get("top_k", k)) if finite(r.get("top_k")) else k
        rows.append(
            (
                family_name(f),
                _pct(r.get("top_k_overlap")),
                _pct(r.get("top_k_exact")),
                fmt_num(r.get("spearman")),
                _pct(r.get("raised_observable")),
                _pct(r.get("ceiling_raised_observable")),
            )
        )
    if not rows:
        return None
    return Table(
        caption="Fidelity: how well the reasons match the hidden factors that drove each risk",
        columns=(
            "model family",
            f"top {k} reasons that are top {k} true factors (average)",
            f"referrals whose top {k} match exactly",
            "rank agreement over all factors (−1 to 1)",
            "factors that raised the score and were real (of those a record can show)",
            "the same for a model fitted on the hidden state (the ceiling)",
        ),
        rows=tuple(rows),
    )


def stability_table(stability: Any, order: list[str]) -> Table | None:
    """How much each family's reasons move when it is refitted on resampled data."""
    rows = []
    k, n = 3, None
    for f, r in _rows(stability, order):
        k = int(r.get("top_k", k)) if finite(r.get("top_k")) else k
        n = r.get("n_boot", n)
        rows.append(
            (
                family_name(f),
                _pct(r.get("top_k_same_mean")),
                _pct(r.get("top_k_always_same")),
                fmt_num(r.get("kendall_tau_mean")),
                fmt_num(r.get("kendall_tau_min")),
            )
        )
    if not rows:
        return None
    refits = f"{int(n)} refits" if n is not None and finite(n) else "the refits"
    return Table(
        caption=f"Stability of the reasons across {refits} on bootstrap resamples",
        columns=(
            "model family",
            f"top {k} reasons kept (average)",
            f"referrals that kept all {k} in every refit",
            "rank agreement of the reasons (average, −1 to 1)",
            "rank agreement, worst refit",
        ),
        rows=tuple(rows),
    )


def patterns_table(headline: Any, order: list[str]) -> Table | None:
    """The seed patterns' variants: how many each family flags, and whether its reasons say why."""
    rows = [
        (
            family_name(f),
            *(
                _pct(r.get(f"{p}_{m}"))
                for p in SEED_PATTERNS
                for m in ("recall", "reasons_name_pattern")
            ),
            *(_pct(r.get(f"{c}_flag_rate")) for c in CONTROLS),
        )
        for f, r in _rows(headline, order)
    ]
    if not rows:
        return None
    return Table(
        caption="Seed patterns, many variants each (scored, never trained on)",
        columns=(
            "model family",
            *(
                h
                for p in SEED_PATTERNS
                for h in (
                    f"{p.capitalize()}-like decisions flagged",
                    "their reasons name the pattern",
                )
            ),
            *(f"control: {CONTROL_WORDS[c]}, no risk, flagged" for c in CONTROLS),
        ),
        rows=tuple(rows),
        note="The controls are households with nothing that warrants escalation: a deprived "
        "area, and frequent referrals that each ended rightly in no further action. Flagging "
        "them would be a false alarm.",
    )


_SETTINGS = {
    "none": "no policy",
    "guidance": "guidance policy",
    "practice-blind": "practice-blind inputs",
    "guidance+practice-blind": "both",
}


def policy_table(records: Any, vignettes: Sequence[str] = ()) -> Table | None:
    """What the policy on reasons costs and buys, every family under every setting.

    Parameters
    ----------
    records
        The policy stage's ``policy.json`` (a list of rows; anything else gives None).
    vignettes
        The seed cases' names (``synth.vignettes``): each case's last decision (the referral
        closest to the harm) gets a column saying whether it is flagged.

    Returns
    -------
    Table or None
        None when there is no row.
    """
    if not isinstance(records, list):
        return None
    keys = {k for r in records if isinstance(r, Mapping) for k in r}
    seeds = last_seed_decisions(
        (k.removesuffix("_flag") for k in keys if k.endswith("_flag")), vignettes
    )
    rows = []
    for r in records:
        if not isinstance(r, Mapping):
            continue
        flags = [r.get(f"{d}_flag") for d in seeds]
        controls = [float(r[k]) for k in (f"{c}_flag_rate" for c in CONTROLS) if finite(r.get(k))]
        rows.append(
            (
                _SETTINGS.get(str(r.get("setting")), str(r.get("setting"))),
                family_name(str(r.get("family"))),
                fmt_num(r.get("auprc_margin"), 3),
                _pct(r.get("reasons_against_guidance_share")),
                *(_pct(r.get(f"{p}_recall")) for p in SEED_PATTERNS),
                _pct(max(controls)) if controls else "not computed",
                _pct(r.get("raised_all")),
                *("not computed" if flag is None else ("yes" if flag else "no") for flag in flags),
            )
        )
    if not rows:
        return None
    return Table(
        caption="What the policy on reasons costs and buys: every family under each setting",
        columns=(
            "setting",
            "model family",
            "AUPRC",
            "reasons against guidance",
            *(f"{p.capitalize()}-like decisions flagged" for p in SEED_PATTERNS),
            "controls flagged",
            "fidelity",
            *(f"{d} flagged" for d in seeds),
        ),
        rows=tuple(rows),
        note="Guidance policy: each input may move the score only the way guidance allows. "
        "Practice-blind: inputs that record what practice decided are left out. Controls "
        "flagged: the higher of the two negative controls' flag rates (families often referred, "
        "and deprived families, with no risk behind it). Fidelity: share of the reasons raising "
        "a score that are true drivers. Every seed decision's chance under each setting, and "
        "the number of inputs, are in reports/policy.md.",
    )
