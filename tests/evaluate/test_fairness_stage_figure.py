"""secondlook.evaluate.fairness_stage: the disparity figure: every model drawn is in the legend,
nothing is written over the data."""

from __future__ import annotations

import pandas as pd

from secondlook.evaluate.fairness_stage import disparity_figure


def _row(model: str, group: str, ratio: float | None, suppressed: bool = False) -> dict:
    return {"model": model, "attribute": "la", "metric": "fpr", "group": group,
            "reference": "A", "ratio": ratio, "ratio_lo": None if ratio is None else ratio * 0.8,
            "ratio_hi": None if ratio is None else ratio * 1.2, "suppressed": suppressed}  # fmt: skip


def test_legend_complete_suppressed_on_the_axis_plain_ticks() -> None:
    rows = [
        _row("rules", "A", 1.0), _row("logreg", "A", 1.0), _row("gbm", "A", 1.0),
        # the first group is suppressed for gbm: gbm must still be in the legend
        _row("rules", "B0", 0.6), _row("logreg", "B0", 0.7), _row("gbm", "B0", None, True),
        _row("rules", "C", None, True), _row("logreg", "C", None, True),
        _row("gbm", "C", None, True),
        _row("rules", "D", 2.0), _row("logreg", "D", 1.6), _row("gbm", "D", 3.0),
    ]  # fmt: skip
    fig = disparity_figure(pd.DataFrame(rows), "la", "fpr")
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["rules", "logreg", "gbm"] and legend[3].startswith("parity band")
    assert not ax.texts  # no annotation over the data
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert "B0 (suppressed for gbm)" in ylabels
    assert "C (suppressed: too few decisions)" in ylabels
    fig.canvas.draw()
    xlabels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert xlabels and all("10^" not in x and "times" not in x and "$" not in x for x in xlabels)
    assert "1" in xlabels and "2" in xlabels
