"""The ``fairness`` stage: the group audit, the proxy statements and the label-bias study.

Writes (paths from dvc.yaml):

- ``fairness.json`` (DVC metrics): per family and attribute, each group's flag rate, TPR, FPR,
  FNR, PPV, AUROC and calibration in the large against the truth, with intervals, disparity
  ratios and parity-band marks — suppressed cells as ``"suppressed"``, never a number; a summary
  of groups outside the band; the proxy statements; the label-bias decomposition.
- ``<out>/by-group.csv`` (every label), ``<out>/label-bias.csv``, ``<out>/label-bias-decomposition.csv``,
  ``<out>/summary.md`` (plain words) and ``<out>/plots/*.png`` (disparity ratios with the band).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from secondlook.errors import InputError  # noqa: E402
from secondlook.evaluate.audit import Audit, decompose, fairness_audit, label_bias  # noqa: E402
from secondlook.evaluate.fairness import PARITY_BAND, parity_verdict  # noqa: E402
from secondlook.fileio import save_png, write_json  # noqa: E402
from secondlook.models import CalibratedModel  # noqa: E402
from secondlook.params import NO_GROUND_TRUTH, FairnessParams, TrainParams  # noqa: E402

__all__ = [
    "fairness_json",
    "disparity_figure",
    "summary_markdown",
    "run_fairness",
    "fairness_metrics",
]

_SHOWN = ("flag_rate", "tpr", "fpr", "fnr", "ppv", "auroc", "mean_predicted", "observed")
_PLOTTED = ("flag_rate", "tpr", "fpr")
_WORDS = {
    "flag_rate": "Share flagged",
    "tpr": "of those that warranted escalation, flagged (TPR)",
    "fpr": "of those that did not, flagged (FPR)",
    "fnr": "of those that warranted escalation, missed (FNR)",
    "ppv": "of flags, warranted escalation (PPV)",
}


def _cell(row: pd.Series) -> Any:
    if bool(row["suppressed"]):
        return "suppressed"
    out = {k: row[k] for k in ("value", "lo", "hi", "ratio", "ratio_lo", "ratio_hi", "in_band")}
    cell = {
        k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        for k, v in out.items()
    }
    if cell["ratio"] is not None:
        # the statement a reader may make: only when the whole interval is inside or outside
        cell["parity"] = parity_verdict(cell["ratio_lo"], cell["ratio_hi"], PARITY_BAND)
    return cell


def fairness_json(audit: Audit, decomposition: pd.DataFrame, cfg: FairnessParams) -> dict[str, Any]:
    """The content of ``fairness.json``.

    Parameters
    ----------
    audit
        The output of :func:`~secondlook.evaluate.audit.fairness_audit`.
    decomposition
        The output of :func:`~secondlook.evaluate.audit.decompose`.
    cfg
        The ``fairness`` section.

    Returns
    -------
    dict
        JSON-ready; a suppressed cell (and a suppressed group size) is the string
        ``"suppressed"``.
    """
    truth = cfg.labels[0]
    t = audit.by_group[audit.by_group["label"] == truth]
    families: dict[str, Any] = {}
    for (model, attribute), part in t.groupby(["model", "attribute"], sort=False):
        groups: dict[str, Any] = {}
        for group, rows in part.groupby("group", sort=True):
            n = rows["n"].iloc[0]
            groups[str(group)] = {
                "n": "suppressed" if n is None or pd.isna(n) else int(n),
                **{r["metric"]: _cell(r) for _, r in rows.iterrows() if r["metric"] in _SHOWN},
            }
        shown = part[part["metric"].isin(_PLOTTED) & ~part["suppressed"].astype(bool)]
        # outside only when the whole interval is (a point estimate outside proves nothing)
        verdicts = [
            parity_verdict(lo, hi, PARITY_BAND) if pd.notna(r) else "uncertain"
            for r, lo, hi in zip(shown["ratio"], shown["ratio_lo"], shown["ratio_hi"], strict=True)
        ]
        outside = shown.loc[np.array([v == "outside" for v in verdicts], dtype=bool)]
        families.setdefault(str(model), {})[str(attribute)] = {
            "reference": str(part["reference"].iloc[0]),
            "groups_outside_band": {
                m: sorted(outside.loc[outside["metric"] == m, "group"].astype(str))
                for m in _PLOTTED
            },
            "by_group": groups,
        }
    return {
        "measured_against": truth,
        "parity_band": list(PARITY_BAND),
        "min_cell": cfg.min_cell,
        "families": families,
        "proxy_statements": audit.statements,
        "label_bias": decomposition.round(4).to_dict(orient="records"),
    }


def _group_text(attribute: str, group: str) -> str:
    """A group as a reader says it (the tables' ``True``/``F`` are column values)."""
    if attribute == "disability":
        return "disabled" if group in ("True", "true", "1") else "not disabled"
    if attribute == "sex":
        return {"F": "female", "M": "male"}.get(group, group)
    if attribute == "deprivation_quintile":
        return f"quintile {group}"
    return group


def disparity_figure(table: pd.DataFrame, attribute: str, metric: str) -> Figure:
    """Disparity ratios of ``metric`` by group and model, with the parity band shaded.

    A suppressed cell is never drawn over the data: its group's label on the axis says which
    models' values are suppressed. Every model drawn is in the legend (marker shape as well as
    colour), and the log-scale axis has plain tick labels (0.5, 1, 2).
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    part = table[(table["attribute"] == attribute) & (table["metric"] == metric)]
    groups = sorted(part["group"].astype(str).unique())
    models = list(dict.fromkeys(part["model"]))
    markers = "osD^v<>"
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(groups) + 1.6))
    ax.axvspan(*PARITY_BAND, color="0.88")
    ax.axvline(1.0, color="0.5", lw=0.8)
    hidden: dict[str, list[str]] = {g: [] for g in groups}
    drawn: list[str] = []
    values: list[float] = []
    for i, model in enumerate(models):
        rows = part[part["model"] == model].set_index("group")
        for j, g in enumerate(groups):
            y = j + (i - (len(models) - 1) / 2) * 0.12
            r = rows.loc[g] if g in rows.index else None
            if r is None or bool(r["suppressed"]) or r["ratio"] is None or pd.isna(r["ratio"]):
                hidden[g].append(str(model))
                continue
            lo, hi = r["ratio_lo"], r["ratio_hi"]
            if lo is not None and hi is not None and not pd.isna(lo) and lo > 0:
                ax.plot([lo, hi], [y, y], color=f"C{i}", lw=1)
                values += [float(lo), float(hi)]
            if r["ratio"] > 0:
                ax.plot([r["ratio"]], [y], marker=markers[i % len(markers)], color=f"C{i}",
                        ls="none")  # fmt: skip
                values.append(float(r["ratio"]))
                if model not in drawn:
                    drawn.append(str(model))
    # a model suppressed in every group is said once, in the legend, not on every row
    nowhere = [m for m in models if all(m in hidden[g] for g in groups)]
    labels = []
    for g in groups:
        name = _group_text(attribute, g)
        some = [m for m in hidden[g] if m not in nowhere]
        if hidden[g] and len(hidden[g]) == len(models):
            labels.append(f"{name} (suppressed: too few decisions)")
        elif some:
            labels.append(f"{name} (suppressed for {', '.join(some)})")
        else:
            labels.append(name)
    ax.set_yticks(range(len(groups)), labels)
    ax.set_xscale("log")
    lo_x = min([*values, PARITY_BAND[0]]) / 1.15
    hi_x = max([*values, PARITY_BAND[1]]) * 1.15
    ax.set_xlim(lo_x, hi_x)
    ticks = [t for t in (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 10) if lo_x <= t <= hi_x]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    reference = _group_text(attribute, str(part["reference"].iloc[0]))
    ax.set_xlabel(f"ratio to the reference group, {reference} (log scale)")
    ax.set_title(f"{_WORDS.get(metric, metric)}, by {attribute.replace('_', ' ')}")
    handles: list[Any] = [
        Line2D([], [], marker=markers[models.index(m) % len(markers)], ls="none",
               color=f"C{models.index(m)}", label=m)
        for m in drawn
    ]  # fmt: skip
    handles += [
        Line2D([], [], ls="none", label=f"{m}: suppressed in every group")
        for m in nowhere
        if m not in drawn
    ]
    handles.append(
        plt.Rectangle(
            (0, 0), 1, 1, color="0.88", label=f"parity band {PARITY_BAND[0]} to {PARITY_BAND[1]}"
        )
    )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False
    )
    fig.tight_layout()
    return fig


def summary_markdown(audit: Audit, decomposition: pd.DataFrame, cfg: FairnessParams) -> str:
    """The audit in plain words (for the report and a reader of ``reports/``)."""
    lines = [
        "# Fairness and label-bias audit",
        "",
        f"Every disparity is measured against the truth (`{cfg.labels[0]}`), as a ratio to the "
        f"largest group; the parity band is {PARITY_BAND[0]}-{PARITY_BAND[1]} (Aequitas). Cells "
        f"from fewer than {cfg.min_cell} decisions are suppressed (with complementary "
        "suppression so none can be recovered from totals). This audit measures; it does not "
        "make any model fair.",
        "",
        "## Where a proxy label misleads",
        "",
    ]
    lines += [f"- {s}" for s in audit.statements] or [
        "- No proxy changes a parity verdict the data support."
    ]
    lines += [
        "",
        "## How much of each disparity comes from the labels and how much from the world",
        "",
    ]
    if decomposition.empty:
        lines.append("No disparity could be decomposed (every cell suppressed or undefined).")
    else:
        lines += [
            "Log disparity ratio of the model trained on a proxy, split into the part from the "
            "label (proxy vs truth, same world), the part from the planted referral biases (the "
            "world as generated vs without them) and what remains. Positive: the group is "
            "flagged more than the reference.",
            "",
            "| attribute | group | metric | proxy | total | from label | from world | remaining |",
            "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for r in decomposition.itertuples(index=False):
            lines.append(
                f"| {r.attribute} | {r.group} | {r.metric} | {r.proxy} | {r.log_ratio_total:+.2f} "
                f"| {r.from_label:+.2f} | {r.from_world:+.2f} | {r.remaining:+.2f} |"
            )
    return "\n".join(lines) + "\n"


def _observed_only(cfg: FairnessParams, test: pd.DataFrame) -> FairnessParams:
    """``cfg`` with only the labels ``test`` has (real records: the observable ones).

    The settings' rule that the truth comes first holds for the synthetic world only, so the
    copy is made without re-validation.
    """
    observed = [label for label in cfg.labels if f"label_{label}" in test.columns]
    if not observed:
        raise InputError(
            f"fairness: the test split has none of the labels {list(cfg.labels)} "
            "(real records: cp_plan_12m or rereferral_12m)"
        )
    out = copy.copy(cfg)
    object.__setattr__(out, "labels", observed)
    return out


def run_fairness(
    cfg: FairnessParams,
    train_cfg: TrainParams,
    models: Mapping[str, CalibratedModel],
    splits: Mapping[str, pd.DataFrame],
    planted_biases_off: Callable[[], Mapping[str, pd.DataFrame]],
    metrics_path: Path,
    out_dir: Path,
    log: Callable[[str], object] = print,
) -> dict[str, Any]:
    """Run the audit and the label-bias study and write every output.

    Parameters
    ----------
    cfg, train_cfg
        The ``fairness`` and ``train`` sections.
    models
        Family -> fitted model (as trained by the ``train`` stage).
    splits
        The ``train``, ``valid``, ``test`` feature tables of the world as generated.
    planted_biases_off
        Builds the same splits for the same world without its planted referral biases.
    metrics_path, out_dir
        ``fairness.json`` and the folder of tables, summary and plots.
    log
        Progress messages.

    Returns
    -------
    dict
        The content of ``fairness.json``.
    """
    has_truth = f"label_{cfg.labels[0]}" in splits["test"].columns
    if not has_truth:
        # real records (data.source: cohort): groups are compared on the labels the source can
        # observe; the label-bias study needs the truth and a world without planted biases
        cfg = _observed_only(cfg, splits["test"])
    audit = fairness_audit(models, splits["test"], cfg)
    log(
        f"fairness: {len(audit.by_group)} group cells, {int(audit.by_group['suppressed'].sum())} suppressed"
    )
    if has_truth:
        worlds = {"as_generated": splits, "without_planted_bias": planted_biases_off()}
        lb = label_bias(worlds, train_cfg, cfg)
        decomposition = decompose(lb, cfg)
    else:
        audit = dataclasses.replace(audit, statements=[])  # no truth to compare proxies with
        lb = pd.DataFrame()
        decomposition = pd.DataFrame(
            columns=[
                "attribute",
                "group",
                "metric",
                "proxy",
                "log_ratio_total",
                "from_label",
                "from_world",
                "remaining",
            ]
        )
    content = fairness_json(audit, decomposition, cfg)
    if not has_truth:
        content["ground_truth"] = NO_GROUND_TRUTH
        content["label_bias"] = NO_GROUND_TRUTH
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = out_dir / "plots"
    plots.mkdir(exist_ok=True)
    audit.by_group.to_csv(out_dir / "by-group.csv", index=False)
    lb.to_csv(out_dir / "label-bias.csv", index=False)
    decomposition.to_csv(out_dir / "label-bias-decomposition.csv", index=False)
    (out_dir / "summary.md").write_text(summary_markdown(audit, decomposition, cfg))
    truth = audit.by_group[audit.by_group["label"] == cfg.labels[0]]
    for attribute in cfg.attributes:
        for metric in _PLOTTED:
            fig = disparity_figure(truth, attribute, metric)
            save_png(fig, plots / f"{attribute}-{metric}.png", dpi=110, tight=False)
    write_json(metrics_path, content)
    log(f"fairness: {len(audit.statements)} proxy statements; wrote {metrics_path} and {out_dir}")
    return content


def fairness_metrics(content: dict[str, Any]) -> dict[str, float]:
    """Flat numeric MLflow metrics from ``fairness.json``: ratios and band counts per family."""
    out: dict[str, float] = {}
    for family, attributes in content["families"].items():
        for attribute, entry in attributes.items():
            for metric, groups in entry["groups_outside_band"].items():
                out[f"{family}.{attribute}.{metric}.groups_outside_band"] = float(len(groups))
            for group, cells in entry["by_group"].items():
                for metric, cell in cells.items():
                    if isinstance(cell, dict) and cell.get("ratio") is not None:
                        key = f"{family}.{attribute}.{group}.{metric}.ratio".replace(" ", "_")
                        out[key] = float(cell["ratio"])
    return out
