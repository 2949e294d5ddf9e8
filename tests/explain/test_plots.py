"""The same explanation draws the same picture, whatever numpy's global random state."""

from __future__ import annotations

import io

import numpy as np
import pytest
import shap

from secondlook.explain.plots import beeswarm_figure, dependence_figure


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # type: ignore[attr-defined]
    return buf.getvalue()


@pytest.mark.parametrize("draw", [beeswarm_figure, lambda e: dependence_figure(e, "a")])
def test_plot_bytes_do_not_depend_on_global_random_state(draw) -> None:
    rng = np.random.default_rng(1)
    e = shap.Explanation(
        values=rng.normal(size=(300, 4)),
        base_values=np.zeros(300),
        data=rng.normal(size=(300, 4)),
        feature_names=list("abcd"),
    )
    pictures = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)  # noqa: NPY002 - the state SHAP would otherwise read
        before = np.random.get_state()[1].copy()  # noqa: NPY002
        pictures.append(_png(draw(e)))
        assert (np.random.get_state()[1] == before).all()  # noqa: NPY002 - restored
    assert pictures[0] == pictures[1]


def _row(values: list[float], base: float) -> shap.Explanation:
    n = len(values)
    return shap.Explanation(
        values=np.array(values), base_values=base, data=np.zeros(n),
        feature_names=[f"f{i}" for i in range(n)],
    )  # fmt: skip


def test_waterfall_names_its_baseline_and_no_two_labels_overlap() -> None:
    from secondlook.explain.plots import BASELINE_LABELS, waterfall_figure

    values = [-3.3, 1.9, 1.8, 1.3, -1.2, *([0.05] * 80)]
    labels = [f"a long sentence about piece number {i} of the record, in words" for i in range(85)]
    fig = waterfall_figure(
        _row(values, -2.7), max_display=6, labels=labels, baseline=BASELINE_LABELS["clean_record"]
    )
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0].replace("\n", " ") == "Starting point: a referral with nothing recorded"
    assert ticks[-1] == "This referral's score"
    assert ticks[-2] == "80 other pieces of the record"
    assert len(ticks) == 1 + 5 + 1 + 1  # baseline, 5 largest, the rest, the score
    assert not any("f(x)" in t or "E[f(X)]" in t or "average" in t for t in ticks)
    # each row's label is its own: the labels' boxes do not overlap
    boxes = [t.get_window_extent() for t in ax.get_yticklabels()]
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a.y1 <= b.y0 or b.y1 <= a.y0
    # the bars walk from the baseline to the score: the last marker sits at base + sum
    final = ax.lines[-1].get_xdata()[0] if ax.lines else None
    assert final is not None
    xs = [float(line.get_xdata()[0]) for line in ax.lines if line.get_marker() == "D"]
    assert xs == pytest.approx([-2.7, -2.7 + sum(values)])
    mean = waterfall_figure(_row(values, 0.0), max_display=6, baseline=BASELINE_LABELS["mean"])
    first = mean.axes[0].get_yticklabels()[0].get_text().replace("\n", " ")
    assert first == "Starting point: the average referral"
