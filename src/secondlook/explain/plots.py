"""Figures of explanations: global ranking, beeswarm, dependence, waterfall and case timeline.

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show()``; the
caller saves it (:func:`save_png`, :func:`png_base64`) and it is closed there. Drawing uses the
Agg backend, so it works headless.
"""

from __future__ import annotations

import base64
import contextlib
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

__all__ = [
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
    return "points" if scale == "points" else "log-odds"


def importance_figure(
    explanation: shap.Explanation, *, max_display: int = 15, title: str = "", scale: str = ""
) -> Figure:
    """Horizontal bars of the mean |contribution| of the top ``max_display`` inputs."""
    values = np.abs(np.asarray(explanation.values))
    imp = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
    order = np.argsort(-imp, kind="stable")[:max_display][::-1]
    names = [explanation.feature_names[j] for j in order]
    fig = Figure(figsize=(7, 0.35 * len(order) + 1.2))
    ax = fig.add_subplot()
    ax.barh(names, imp[order], color="#1E88E5")
    ax.set_xlabel(f"mean |contribution| ({_scale_label(scale)})")
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
    """SHAP's beeswarm summary of the explanation."""
    fig = plt.figure(figsize=(8, 0.4 * max_display + 1.5))
    ax = fig.add_subplot()
    with _fixed_global_rng():
        shap.plots.beeswarm(explanation, max_display=max_display, ax=ax, show=False, plot_size=None)
    ax.set_title(title)
    return fig


def dependence_figure(explanation: shap.Explanation, feature: str, *, title: str = "") -> Figure:
    """Contribution of ``feature`` against its value (SHAP's scatter), coloured by nothing."""
    fig = plt.figure(figsize=(6, 4))
    ax = fig.add_subplot()
    j = list(explanation.feature_names).index(feature)
    with _fixed_global_rng():
        shap.plots.scatter(explanation[:, j], ax=ax, show=False, hist=True)
    ax.set_title(title or feature)
    return fig


#: shap's mathematical labels on the waterfall, in words
_WATERFALL_WORDS = {
    "\n$E[f(X)]$": "\naverage score",
    "$f(x)$": "this referral's score",
}


def waterfall_figure(
    explanation_row: shap.Explanation,
    *,
    max_display: int = 10,
    labels: list[str] | None = None,
) -> Figure:
    """SHAP's waterfall of one decision: from the average score to this referral's score.

    Parameters
    ----------
    explanation_row
        One row of an explanation.
    max_display
        Bars shown (the rest are summed into one).
    labels
        Plain words for each feature (e.g. the catalogue's sentence for its value), shown
        instead of the feature names and values; default the feature names.

    Returns
    -------
    matplotlib.figure.Figure
        shap's ``f(x)`` and ``E[f(X)]`` are labelled "this referral's score" and "average
        score"; the axis is in score units.
    """
    row = explanation_row
    if labels is not None:
        row = shap.Explanation(
            values=np.asarray(row.values),
            base_values=row.base_values,
            data=None,
            feature_names=[_shorten(x) for x in labels],
        )
    fig = plt.figure()
    plt.figure(fig.number)
    shap.plots.waterfall(row, max_display=max_display, show=False)
    fig = plt.gcf()
    for ax in fig.axes:
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        if any(t in _WATERFALL_WORDS for t in ticks):
            ax.set_xticks(ax.get_xticks())
            ax.set_xticklabels([_WATERFALL_WORDS.get(t, t) for t in ticks])
    fig.axes[0].set_xlabel("score units")
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
