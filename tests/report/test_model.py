"""secondlook.report.model: the report's figures and tables refuse what a reader could not use."""

from __future__ import annotations

import pytest

from secondlook.report.model import Figure, Table


def test_model_refuses_figures_without_alt_and_ragged_tables() -> None:
    with pytest.raises(ValueError, match="alt"):
        Figure(title="x", alt=" ", src="data:image/png;base64,")
    with pytest.raises(ValueError, match="cells"):
        Table(caption="t", columns=("a", "b"), rows=(("1",),))
