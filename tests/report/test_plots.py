"""secondlook.report.plots: every registered family has its own style and label, from the
registry (no second list of families in the report)."""

from __future__ import annotations

from secondlook.models.registry import FAMILIES
from secondlook.report import plots


def test_every_family_has_its_own_style_and_its_registry_label() -> None:
    styles = {name: plots.style_of(name) for name in FAMILIES}
    assert len(set(styles.values())) == len(FAMILIES)  # no two families drawn alike
    assert plots.style_of("unknown") not in styles.values()  # the fallback is not a family's
    for name, cls in FAMILIES.items():
        assert cls.kind, name
        assert plots.FAMILY_LABELS[name] == f"{name} ({cls.kind})"
    assert list(plots.FAMILY_LABELS) == list(FAMILIES)  # the report's order is the registry's
    assert plots.FAMILY_LABELS["gbm"] == "gbm (black-box reference)"
