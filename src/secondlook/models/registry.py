"""Build a family from its name and the ``train:`` params."""

from __future__ import annotations

import dataclasses

from secondlook.models.base import ModelFamily
from secondlook.models.ebm import EBMModel
from secondlook.models.linear import LogRegModel
from secondlook.models.rules import RulesModel
from secondlook.models.trees import GBMModel, TreeModel
from secondlook.params import TrainParams

__all__ = ["FAMILIES", "INTERPRETABLE", "make_family"]

#: family name -> class, in report order
FAMILIES: dict[str, type[ModelFamily]] = {
    "rules": RulesModel,
    "logreg": LogRegModel,
    "tree": TreeModel,
    "ebm": EBMModel,
    "gbm": GBMModel,
}
#: the families a reviewer can read whole (candidates for the ``candidate`` alias)
INTERPRETABLE = tuple(name for name, cls in FAMILIES.items() if cls.interpretable)


def make_family(name: str, cfg: TrainParams) -> ModelFamily:
    """An unfitted family configured from ``train.<name>``.

    Parameters
    ----------
    name
        One of :data:`FAMILIES`.
    cfg
        The validated ``train:`` section.

    Returns
    -------
    ModelFamily
        The estimator, seeded with ``train.seed`` where the family is random.
    """
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})")
    if name == "rules":
        r = cfg.rules
        return RulesModel(
            points=dataclasses.asdict(r.points),
            referrals_12m_min=r.referrals_12m_min,
            sibling_referrals_36m_min=r.sibling_referrals_36m_min,
            police_domestic_12m_min=r.police_domestic_12m_min,
        )
    kwargs = dataclasses.asdict(getattr(cfg, name))
    policy = getattr(cfg, "policy", "none")
    return FAMILIES[name](**kwargs, random_state=cfg.seed, policy=policy)  # type: ignore[call-arg]
