"""Figures for the ethics-panel report: each function returns a matplotlib Figure.

No function shows or saves anything; :func:`png_data_uri` turns a Figure into an embeddable,
byte-deterministic PNG (no software or date metadata) and closes it. Families are told apart by
marker and line style as well as colour, and each figure's points carry their values as text
where that is legible, so no meaning rests on colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from secondlook import fileio  # noqa: E402
from secondlook.models.registry import FAMILIES  # noqa: E402

__all__ = ["curves_figure", "interval_figure", "png_data_uri", "reliability_figure", "style_of"]

#: colour-blind-safe colours (Okabe–Ito), a marker and a line style, one per family in the
#: registry's order (a family added to the registry needs a row here; a test says so)
_PALETTE: tuple[tuple[str, str, object], ...] = (
    ("#000000", "s", ":"),
    ("#0072B2", "o", "-"),
    ("#009E73", "^", "--"),
    ("#D55E00", "D", "-."),
    ("#CC79A7", "v", (0, (5, 1, 1, 1, 1, 1))),
)
_STYLES: dict[str, tuple[str, str, object]] = dict(zip(FAMILIES, _PALETTE, strict=False))
_FALLBACK = ("#555555", "x", "-")

#: how the report names each family in figures: ``<name> (<kind>)``, from the registry
FAMILY_LABELS = {name: f"{name} ({cls.kind})" for name, cls in FAMILIES.items()}


def style_of(family: str) -> tuple[str, str, object]:
    """Colour, marker and line style of a family (a fixed grey cross for unknown ones)."""
    return _STYLES.get(family, _FALLBACK)


def _label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


def png_data_uri(fig: Figure, dpi: int = 110) -> str:
    """Encode a Figure as a ``data:image/png;base64,…`` URI and close it.

    Parameters
    ----------
    fig
        The figure; it is closed afterwards.
    dpi
        Resolution.

    Returns
    -------
    str
        The data URI. The same figure always gives the same bytes: the PNG carries no
        ``Software`` or date metadata.
    """
    return fileio.png_data_uri(fileio.figure_png(fig, dpi=dpi))


def interval_figure(
    board: pd.DataFrame, metric: str, label: str, *, reference: float | None = None
) -> Figure:
    """Each family's estimate of ``metric`` with its interval, one row per family.

    Parameters
    ----------
    board
        The leaderboard: ``family`` and ``<metric>``, ``<metric>_lo``, ``<metric>_hi`` columns.
    metric
        The metric to draw.
    label
        Axis label in words.
    reference
        A value to mark with a dashed vertical line (e.g. the prevalence, chance-level AUPRC).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = board.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.0, 0.55 * len(rows) + 1.3))
    for i, r in rows.iterrows():
        colour, marker, _ = style_of(str(r["family"]))
        y = len(rows) - 1 - int(i)  # type: ignore[call-overload]
        v, lo, hi = float(r[metric]), float(r[f"{metric}_lo"]), float(r[f"{metric}_hi"])
        ax.errorbar(
            v, y, xerr=[[v - lo], [hi - v]], fmt=marker, color=colour, capsize=4, markersize=7
        )
        ax.annotate(
            f"{v:.2f} ({lo:.2f} to {hi:.2f})",
            (hi, y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(rows)), [_label(str(f)) for f in rows["family"]][::-1])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    if reference is not None:
        ax.axvline(reference, color="#444444", linestyle="--", linewidth=1)
        # above the plot area, where no row is drawn (a data-coordinate label there is clipped)
        ax.text(
            reference,
            1.01,
            f"chance level ({reference:.2f})",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xlim(0, 1.25)
    ax.set_xlabel(label)
    ax.grid(axis="x", color="#dddddd")
    fig.tight_layout()
    return fig


def _family_curve(ax: Axes, family: str, x: pd.Series, y: pd.Series) -> None:
    """One family's curve, told apart by colour, marker and line style (not colour alone)."""
    colour, marker, line = style_of(family)
    ax.plot(
        x,
        y,
        color=colour,
        linestyle=line,  # type: ignore[arg-type]
        marker=marker,
        markevery=max(len(x) // 8, 1),
        markersize=5,
        label=_label(family),
    )


def curves_figure(
    roc: Mapping[str, pd.DataFrame], pr: Mapping[str, pd.DataFrame], prevalence: float
) -> Figure:
    """ROC and precision-recall curves of each family, side by side.

    Parameters
    ----------
    roc
        Family -> frame with ``fpr`` and ``tpr``.
    pr
        Family -> frame with ``recall`` and ``precision``.
    prevalence
        Share of referrals that warranted escalation (the chance level of precision).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 5.0))
    for family, frame in roc.items():
        _family_curve(a, family, frame["fpr"], frame["tpr"])
    a.plot([0, 1], [0, 1], color="#888888", linewidth=0.8, linestyle="--", label="chance")
    a.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC")
    for family, frame in pr.items():
        _family_curve(b, family, frame["recall"], frame["precision"])
    b.axhline(prevalence, color="#888888", linewidth=0.8, linestyle="--", label="chance")
    b.set(xlabel="recall", ylabel="precision", title="Precision against recall")
    for ax in (a, b):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(color="#eeeeee")
    # one legend for both panels, below them, where it covers no curve
    handles, labels = b.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def reliability_figure(calibration: Mapping[str, pd.DataFrame]) -> Figure:
    """Reliability diagram: mean predicted probability against the observed rate, per bin.

    Parameters
    ----------
    calibration
        Family -> frame with ``mean_predicted`` and ``observed_rate`` (equal-mass bins).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.0, 5.0))
    top = 0.0
    for family, frame in calibration.items():
        colour, marker, line = style_of(family)
        ax.plot(
            frame["mean_predicted"],
            frame["observed_rate"],
            color=colour,
            linestyle=line,  # type: ignore[arg-type]
            marker=marker,
            markersize=6,
            label=_label(family),
        )
        top = max(top, float(frame["mean_predicted"].max()), float(frame["observed_rate"].max()))
    top = min(1.0, top * 1.08 + 0.02)
    ax.plot([0, top], [0, top], color="#888888", linestyle="--", linewidth=0.8, label="perfect")
    ax.set(
        xlim=(0, top),
        ylim=(0, top),
        xlabel="mean predicted probability in the bin",
        ylabel="observed share that warranted escalation",
    )
    ax.grid(color="#eeeeee")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
