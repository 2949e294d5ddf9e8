"""The leaderboard as markdown: every family with intervals, the price of interpretability,
each family against practice at practice's workload, and the seed cases' scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from secondlook.params import EvaluateParams

if TYPE_CHECKING:
    from secondlook.evaluate.stage import Evaluation

__all__ = ["leaderboard_markdown"]


def _fmt(v: float, lo: float, hi: float, digits: int = 3) -> str:
    if not np.isfinite(v):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.{digits}f}"
    return f"{v:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def leaderboard_markdown(ev: Evaluation, cfg: EvaluateParams) -> str:
    """The leaderboard, the price of interpretability and the practice comparison as markdown.

    Parameters
    ----------
    ev
        From :func:`secondlook.evaluate.stage.evaluate_models`.
    cfg
        The ``evaluate:`` section (headline label, interval level, bootstrap size).

    Returns
    -------
    str
        The markdown of ``reports/leaderboard.md``, ending with a newline.
    """
    ci = f"{cfg.ci:.0%}"
    b = ev.leaderboard
    shown = ["auroc", "auprc", "brier", "ece", "precision", "recall", "flag_rate"]
    lines = [
        "# Leaderboard",
        "",
        f"Test split, label `{cfg.label}` (trained on `{ev.metrics['train_label']}`), "
        f"{ev.metrics['n_test']} referrals, prevalence {ev.metrics['prevalence']:.3f}. "
        f"Each cell: estimate ({ci} bootstrap interval, {cfg.n_boot} replicates). "
        "Precision, recall and flag rate are at each model's capacity cut.",
        "",
    ]
    # training times vary from run to run: the train stage logs them, no file holds them
    lines += [
        "| family | interpretable | " + " | ".join(shown) + " |",
        "|---|---|" + "---|" * len(shown),
    ]
    for r in b.to_dict("records"):
        cells = [_fmt(r[k], r[f"{k}_lo"], r[f"{k}_hi"]) for k in shown]
        lines.append(
            f"| {r['family']} | {'yes' if r['interpretable'] else 'no'} | "
            + " | ".join(cells)
            + " |"
        )
    price = ev.metrics.get("price_of_interpretability")
    lines += ["", "## The price of interpretability", ""]
    if price:
        lines.append(
            f"The black-box reference `gbm` minus the best interpretable family "
            f"(`{price['family']}`) in {price['metric'].upper()}: "
            f"{_fmt(price['gbm_minus_family'], price['lo'], price['hi'])} "
            "(paired bootstrap; an interval that covers 0 means no measurable price)."
        )
        col = f"price_{cfg.select_by}"
        if col in b.columns:
            lines += ["", f"| family | gbm minus family, {cfg.select_by} |", "|---|---|"]
            for r in b.to_dict("records"):
                lines.append(f"| {r['family']} | {_fmt(r[col], r[col + '_lo'], r[col + '_hi'])} |")
    else:
        lines.append("Not computed: it needs `gbm` and at least one interpretable family.")
    p = ev.practice
    lines += ["", "## Against practice, at practice's workload", ""]
    if p.empty:
        lines.append("Not computed: the test split has no `practice_outcome`.")
    else:
        k, total = int(p["escalations"].iloc[0]), int(p["warranted"].iloc[0])
        lines += [
            f"Practice made {k} section 47 enquiries; {total} referrals warranted escalation. "
            f"Each family escalates its own top {k} by score.",
            "",
            "| who | caught | recall | recall minus practice's |",
            "|---|---|---|---|",
        ]
        for r in p.to_dict("records"):
            vs = (
                "–"
                if r["who"] == "practice"
                else _fmt(r["vs_practice"], r["vs_practice_lo"], r["vs_practice_hi"])
            )
            lines.append(
                f"| {r['who']} | {r['caught']} | "
                f"{_fmt(r['recall'], r['recall_lo'], r['recall_hi'])} | {vs} |"
            )
    seeds = ev.seed_cases
    lines += ["", "## Seed cases", ""]
    if seeds.empty:
        lines.append("No seed-case decisions in the evaluated splits.")
    else:
        fams = [c.removesuffix("_flag") for c in seeds.columns if c.endswith("_flag")]
        lines += [
            "Each family's calibrated score (and ✔ when flagged at its cut). Decisions in the "
            "training split are scored in-sample.",
            "",
            "| decision | split | date | practice | warranted | " + " | ".join(fams) + " |",
            "|---|---|---|---|---|" + "---|" * len(fams),
        ]
        warrant = f"label_{cfg.label}"
        for r in seeds.to_dict("records"):
            cells = [f"{r[f + '_score']:.2f}{' ✔' if r[f + '_flag'] else ''}" for f in fams]
            date = str(r.get("decision_date", ""))[:10]
            lines.append(
                f"| {r['decision_id']} | {r['split']} | {date} | {r.get('practice_outcome', '')} "
                f"| {'yes' if r.get(warrant) else 'no'} | " + " | ".join(cells) + " |"
            )
    lines.append("")
    return "\n".join(lines)
