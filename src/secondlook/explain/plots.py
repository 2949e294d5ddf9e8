"""Figures of explanations: global ranking, beeswarm, dependence, waterfall and case timeline.

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show()``; the
caller saves it (:func:`save_png`, :func:`png_base64`) and it is closed there. Drawing uses the
Agg backend, so it works headless.
"""

from __future__ import annotations

import base64
import contextlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from secondlook import fileio  # noqa: E402
from secondlook.features import spec  # noqa: E402

__all__ = [
    "BASELINE_LABELS",
    "plain_name",
    "TIMELINE_LANES",
    "beeswarm_figure",
    "dependence_figure",
    "importance_figure",
    "png_base64",
    "save_png",
    "timeline_figure",
    "waterfall_figure",
]


def _scale_label(scale: str) -> str:
    return "checklist points" if scale == "points" else "score units"


def plain_name(feature: str, width: int = 46) -> str:
    """A feature's name in words for a figure: the catalogue's description up to its first
    bracket, wrapped to two lines (the column name itself when the catalogue lacks it)."""
    try:
        text = spec(feature).description.split(" (")[0].rstrip(".")
    except (KeyError, ValueError):
        return feature
    return _wrap(text, width)


def importance_figure(
    explanation: shap.Explanation, *, max_display: int = 15, title: str = "", scale: str = ""
) -> Figure:
    """Horizontal bars of the mean size of each of the top ``max_display`` inputs'
    contributions, each input named in words (:func:`plain_name`)."""
    values = np.abs(np.asarray(explanation.values))
    imp = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
    order = np.argsort(-imp, kind="stable")[:max_display][::-1]
    names = [plain_name(str(explanation.feature_names[j])) for j in order]
    fig = Figure(figsize=(8, 0.5 * len(order) + 1.2))
    ax = fig.add_subplot()
    ax.barh(range(len(order)), imp[order], color="#1E88E5")
    ax.set_yticks(range(len(order)), names, fontsize=8)
    ax.set_xlabel(f"average size of the contribution ({_scale_label(scale)})")
    ax.set_title(title)
    fig.tight_layout()
    return fig


@contextlib.contextmanager
def _fixed_global_rng(seed: int = 0) -> Iterator[None]:
    """SHAP's beeswarm and scatter shuffle points with numpy's *global* generator; seed it for
    the call (and restore it after) so the same explanation draws the same picture."""
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002 - shap reads the legacy global state
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def beeswarm_figure(
    explanation: shap.Explanation, *, max_display: int = 15, title: str = ""
) -> Figure:
    """SHAP's beeswarm summary of the explanation, inputs named in words (:func:`plain_name`)."""
    named = shap.Explanation(
        values=np.asarray(explanation.values),
        base_values=explanation.base_values,
        data=None if explanation.data is None else np.asarray(explanation.data),
        feature_names=[plain_name(str(f)) for f in explanation.feature_names],
    )
    fig = plt.figure(figsize=(9, 0.5 * max_display + 1.5))
    ax = fig.add_subplot()
    with _fixed_global_rng():
        shap.plots.beeswarm(named, max_display=max_display, ax=ax, show=False, plot_size=None)
    ax.set_xlabel("contribution to the score (score units)")
    ax.tick_params(axis="y", labelsize=8)
    for other in fig.axes:
        if other is not ax and other.get_ylabel() == "Feature value":
            other.set_ylabel("the input's value (low to high)")
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    ax.set_yticks(
        ax.get_yticks(),
        [
            t.replace("Sum of", "").replace("other features", "other inputs, summed").strip()
            if t.startswith("Sum of ")
            else t
            for t in ticks
        ],
    )
    ax.set_title(title)
    return fig


def dependence_figure(explanation: shap.Explanation, feature: str, *, title: str = "") -> Figure:
    """Contribution of ``feature`` against its value (SHAP's scatter), coloured by nothing; the
    input is named in words (:func:`plain_name`), after ``title`` (e.g. the family)."""
    fig = plt.figure(figsize=(6, 4))
    ax = fig.add_subplot()
    j = list(explanation.feature_names).index(feature)
    with _fixed_global_rng():
        shap.plots.scatter(explanation[:, j], ax=ax, show=False, hist=True)
    name = plain_name(feature, 60)
    ax.set_xlabel(name, fontsize=9)
    ax.set_ylabel("its contribution to the score\n(score units)", fontsize=9)
    ax.set_title(
        f"{title}: {plain_name(feature, 80)}" if title else plain_name(feature, 80), fontsize=9
    )
    return fig


#: what the waterfall starts from, by the explanation's reference (``explain.reference``)
BASELINE_LABELS = {
    "clean_record": "a referral with nothing recorded",
    "mean": "the average referral",
}

_RAISES, _LOWERS = "#D81B60", "#1E88E5"


def _signed(x: float) -> str:
    """``x`` with its sign, a typographic minus (as matplotlib's tick labels use)."""
    return f"{x:+.2f}".replace("-", "\u2212")


def _wrap(text: str, width: int = 44, lines: int = 2) -> str:
    """``text`` wrapped to at most ``lines`` lines of ``width`` characters (ellipsis if cut)."""
    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = [*parts[: lines - 1], _shorten(" ".join(parts[lines - 1 :]), width)]
    return "\n".join(parts)


def waterfall_figure(
    explanation_row: shap.Explanation,
    *,
    max_display: int = 10,
    labels: list[str] | None = None,
    baseline: str = BASELINE_LABELS["mean"],
) -> Figure:
    """A waterfall of one decision: from the baseline's score to this referral's score.

    The top row is the baseline (the score of the reference the contributions are measured
    against), then one row per piece of the record in order of size, the rest summed in one row,
    and at the bottom this referral's score; each row has its own label, so no two overlap.

    Parameters
    ----------
    explanation_row
        One row of an explanation: ``values`` shape (n_features,), a scalar ``base_values``.
    max_display
        Rows shown for pieces of the record, the last one summing the rest.
    labels
        Plain words for each feature (e.g. the catalogue's sentence for its value), shown
        instead of the feature names; default the feature names.
    baseline
        What the contributions are measured against, in words (see :data:`BASELINE_LABELS`).

    Returns
    -------
    matplotlib.figure.Figure
        Bars that raise the score in magenta, bars that lower it in blue; the axis is in score
        units.
    """
    values = np.asarray(explanation_row.values, dtype=np.float64).reshape(-1)
    base = float(np.asarray(explanation_row.base_values, dtype=np.float64).reshape(-1)[0])
    names = list(labels) if labels is not None else list(explanation_row.feature_names or [])
    order = np.argsort(-np.abs(values), kind="stable")
    shown = order[: max(max_display - 1, 1)] if len(order) > max_display else order
    rest = np.setdiff1d(order, shown)
    rows: list[tuple[str, float]] = [(names[j], float(values[j])) for j in shown]
    if len(rest):
        word = "piece" if len(rest) == 1 else "pieces"
        rows.append((f"{len(rest)} other {word} of the record", float(values[rest].sum())))
    total = base + float(values.sum())
    n = len(rows) + 2
    fig = Figure(figsize=(9, 0.5 * n + 1.3))
    ax = fig.add_subplot()
    ys = np.arange(n)[::-1]
    ax.plot([base], [ys[0]], marker="D", color="#555555", markersize=7, zorder=3)
    ax.annotate(_signed(base), (base, ys[0]), xytext=(8, 0), textcoords="offset points",
                va="center", fontsize=9)  # fmt: skip
    start = base
    for (_, v), y in zip(rows, ys[1:-1], strict=True):
        colour = _RAISES if v > 0 else _LOWERS
        ax.barh(y, v, left=start, height=0.6, color=colour, zorder=2)
        end = start + v
        ax.annotate(_signed(v), (max(start, end), y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9)  # fmt: skip
        ax.plot([end, end], [y - 0.3, y - 0.7], color="#999999", linewidth=0.8, zorder=1)
        start = end
    ax.plot([total], [ys[-1]], marker="D", color="black", markersize=7, zorder=3)
    ax.annotate(_signed(total), (total, ys[-1]), xytext=(8, 0), textcoords="offset points",
                va="center", fontsize=9, fontweight="bold")  # fmt: skip
    ax.axvline(base, color="#555555", linestyle=":", linewidth=1, zorder=1)
    ax.axvline(total, color="black", linestyle=":", linewidth=1, zorder=1)
    ticks = [
        _wrap(f"Starting point: {baseline}"),
        *[_wrap(label) for label, _ in rows],
        "This referral's score",
    ]
    ax.set_yticks(ys, ticks, fontsize=9)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    lo = min(base, total, *(base + np.cumsum([v for _, v in rows])))
    hi = max(base, total, *(base + np.cumsum([v for _, v in rows])))
    pad = 0.12 * max(hi - lo, 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("score units (higher: more likely to be flagged)")
    ax.grid(axis="x", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


#: timeline lanes: event type -> lane label, in drawing order (top to bottom)
TIMELINE_LANES: dict[str, str] = {
    "referral": "Referrals",
    "referral_outcome": "Referrals",
    "assessment_completed": "Assessments",
    "adult_assessed": "Assessments",
    "s47_concluded": "Child protection",
    "icpc": "Child protection",
    "cp_plan_started": "Child protection",
    "cp_plan_ended": "Child protection",
    "child_removed": "Child protection",
    "ed_attendance": "Health",
    "health_contact": "Health",
    "birth": "Health",
    "pregnancy_notified": "Health",
    "school_concern": "School",
    "police_domestic_incident": "Police",
    "adult_service_contact": "Adult services",
    "adult_joined": "Adults",
    "adult_left": "Adults",
}
_LANE_ORDER = list(dict.fromkeys(TIMELINE_LANES.values()))


def timeline_figure(
    events: pd.DataFrame, decision_date: pd.Timestamp, *, title: str = ""
) -> Figure:
    """The household's recorded events before a decision, one lane per kind of event.

    Parameters
    ----------
    events
        Columns ``date``, ``type``, ``detail`` and ``about`` (``this child``, ``sibling`` or
        ``adult``); only events dated before ``decision_date`` are drawn.
    decision_date
        Drawn as a vertical line.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ev = events[pd.to_datetime(events["date"]) < decision_date].copy()
    ev["lane"] = ev["type"].map(TIMELINE_LANES).fillna("Other")
    lanes = [lane for lane in [*_LANE_ORDER, "Other"] if (ev["lane"] == lane).any()]
    fig = Figure(figsize=(9, 0.45 * max(len(lanes), 1) + 1.6))
    ax = fig.add_subplot()
    styles = {
        "this child": ("o", "#D81B60"),
        "sibling": ("s", "#1E88E5"),
        "adult": ("^", "#6D4C41"),
    }
    y_of = {lane: len(lanes) - i for i, lane in enumerate(lanes)}
    for about, (marker, colour) in styles.items():
        sel = ev[ev["about"] == about]
        if len(sel):
            ax.scatter(
                pd.to_datetime(sel["date"]),
                sel["lane"].map(y_of),
                marker=marker,
                color=colour,
                s=36,
                alpha=0.8,
                label=about,
                zorder=3,
            )
    removals = ev[ev["type"] == "child_removed"]
    for d in pd.to_datetime(removals["date"]):
        ax.annotate(
            "removal",
            (d, y_of["Child protection"]),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=7,
        )
    ax.axvline(mdates.date2num(decision_date), color="black", linestyle="--", linewidth=1)
    ax.annotate("this decision", (decision_date, len(lanes) + 0.4), ha="right", fontsize=8)
    ax.set_yticks(list(y_of.values()), list(y_of.keys()))
    ax.set_ylim(0.4, len(lanes) + 0.8)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.grid(axis="x", alpha=0.3)
    if len(ev):
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=3)
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def png_base64(fig: Figure, *, dpi: int = 90) -> str:
    """The figure as a base64 PNG string (for a self-contained HTML page); closes the figure."""
    return base64.b64encode(fileio.figure_png(fig, dpi=dpi)).decode("ascii")


def save_png(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Save the figure as a PNG (parent folders created) and close it."""
    return fileio.save_png(fig, path, dpi=dpi)
