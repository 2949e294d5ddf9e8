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
