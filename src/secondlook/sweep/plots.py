"""Forest plots of a sweep: one estimand, one line per scenario.

Each scenario's worlds are drawn as small dots; the scenario mean is a square with the bar of its
95% interval: Student's t times the Monte Carlo standard error
(:func:`~secondlook.sweep.aggregate.interval_half_width`; the uncertainty of the mean from the
finite number of seeds, not the spread of worlds). Estimands with a published reference
(:data:`secondlook.sweep.aggregate.EXTERNAL`) carry it as a shaded band or a dashed line. Plot functions return a Figure and never show it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from secondlook.sweep.aggregate import EXTERNAL, interval_half_width, mcse  # noqa: E402

__all__ = ["forest_figure"]


def forest_figure(
    worlds: pd.DataFrame,
    estimand: str,
    scenarios: Sequence[str] | None = None,
    *,
    label: str | None = None,
) -> Figure:
    """Forest plot of ``estimand`` by scenario.

    Parameters
    ----------
    worlds
        One row per world with ``scenario`` and the ``estimand`` column.
    estimand
        Column to plot.
    scenarios
        Order of the rows (top to bottom); default their order in ``worlds``.
    label
        The estimand in words, for the axis and title (default its column name); with it the
        scenarios are written with spaces ("as now") and the interval in words.

    Returns
    -------
    matplotlib.figure.Figure
    """
    order = list(scenarios or dict.fromkeys(worlds["scenario"]))
    fig = Figure(figsize=(6.0, 0.6 * len(order) + 1.4))
    ax = fig.subplots()
    if estimand in EXTERNAL:  # the published reference (FACTS.md): a band, or one figure
        lo, hi, text = EXTERNAL[estimand]
        if hi > lo:
            ax.axvspan(lo, hi, color="#d9ead3", label=text, zorder=0)
        else:
            ax.axvline(lo, color="#6aa84f", linestyle="--", label=text, zorder=0)
    for i, name in enumerate(order):
        y = len(order) - 1 - i
        v = worlds.loc[worlds["scenario"] == name, estimand].to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        jitter = np.linspace(-0.12, 0.12, v.size) if v.size > 1 else np.zeros(1)
        ax.scatter(v, y + jitter, s=10, color="#999999", zorder=2)
        half = interval_half_width(mcse(v), v.size)
        half = half if np.isfinite(half) else 0.0
        ax.errorbar(
            v.mean(), y, xerr=half, fmt="s", color="#1f4e79", capsize=3, zorder=3, markersize=6
        )
    names = [s.replace("_", " ") for s in order] if label else list(order)
    ax.set_yticks(range(len(order)), list(reversed(names)))
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_xlabel(label or estimand)
    ax.set_title(
        "each world a dot; the mean a square, with its 95% Monte Carlo interval"
        if label
        else f"{estimand}: worlds (dots), mean with its 95% t interval",
        fontsize=9,
    )
    if estimand in EXTERNAL:
        ax.legend(loc="lower right", fontsize=6)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
