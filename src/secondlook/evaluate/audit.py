"""The fairness and label-bias audit: who is flagged, who is missed, and where the labels lie.

- :func:`fairness_audit` — each model, each group attribute, against the truth and each proxy
  label (:func:`secondlook.evaluate.fairness.group_table`), and the plain statements of where a
  proxy makes a model look within or outside parity when the truth says otherwise.
- :func:`label_bias` — one family trained on the truth and on proxies, in the world as
  generated and in the same world without its planted referral biases, all evaluated on the
  truth; :func:`decompose` splits each disparity (as a log ratio) into the part that comes from
  the label, the part that comes from the world's planted biases, and what remains.

Pure: feature tables and fitted models in, tables out. The stage (:mod:`.fairness_stage`) reads
and writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from secondlook.evaluate.fairness import group_table, proxy_statements
from secondlook.evaluate.metrics import Scores
from secondlook.models import CalibratedModel, add_group_inputs, select_inputs, train_family
from secondlook.params import FairnessParams, TrainParams

__all__ = ["Audit", "fairness_audit", "label_bias", "decompose", "WORLDS"]

#: the worlds of the label-bias study
WORLDS = ("as_generated", "without_planted_bias")


@dataclasses.dataclass
class Audit:
    """The fairness audit of several models on the test split.

    Attributes
    ----------
    by_group
        Long table: ``label``, ``attribute`` and the columns of
        :func:`~secondlook.evaluate.fairness.group_table`.
    statements
        Plain sentences where a proxy label and the truth disagree about parity.
    """

    by_group: pd.DataFrame
    statements: list[str]


def _scores(model: CalibratedModel, frame: pd.DataFrame) -> Scores:
    return Scores(model.probability(frame), model.flag(frame), model.decision_function(frame))


def fairness_audit(
    models: Mapping[str, CalibratedModel], test: pd.DataFrame, cfg: FairnessParams
) -> Audit:
    """Audit ``models`` on ``test`` by every group attribute, against truth and proxies.

    Parameters
    ----------
    models
        Family -> fitted calibrated model.
    test
        The test feature table (``label_<x>`` and ``group_<attribute>`` columns).
    cfg
        The ``fairness`` section.

    Returns
    -------
    Audit
    """
    frame = add_group_inputs(test)
    scores = {f: _scores(m, frame) for f, m in models.items()}
    parts, statements = [], []
    for attribute in cfg.attributes:
        groups = test[f"group_{attribute}"].astype(str).to_numpy()
        tables = {}
        for i, label in enumerate(cfg.labels):
            y = test[f"label_{label}"].to_numpy().astype(np.int64)
            t = group_table(
                y, scores, groups, n_boot=cfg.n_boot, seed=cfg.seed + i, min_cell=cfg.min_cell,
                ci=cfg.ci,
            )  # fmt: skip
            tables[label] = t
            parts.append(t.assign(label=label, attribute=attribute))
        statements += proxy_statements(
            tables, truth_label=cfg.labels[0], attribute=attribute, ci=cfg.ci
        )
    by_group = pd.concat(parts, ignore_index=True)
    lead = ["label", "attribute", "model", "group"]
    return Audit(by_group[lead + [c for c in by_group.columns if c not in lead]], statements)


def label_bias(
    worlds: Mapping[str, Mapping[str, pd.DataFrame]],
    train_cfg: TrainParams,
    cfg: FairnessParams,
) -> pd.DataFrame:
    """Train one family on each label in each world and measure it by group against the truth.

    Parameters
    ----------
    worlds
        World name -> its ``train``, ``valid`` and ``test`` feature tables.
    train_cfg
        The ``train`` section (hyperparameters, calibration, capacity); its label is replaced.
    cfg
        The ``fairness`` section (``label_bias.family``, ``label_bias.labels``, attributes…).

    Returns
    -------
    pandas.DataFrame
        Long table: ``world``, ``trained_on``, ``attribute`` and the columns of
        :func:`~secondlook.evaluate.fairness.group_table`, all measured on the truth label
        ``cfg.labels[0]``.
    """
    lb = cfg.label_bias
    truth = cfg.labels[0]
    parts = []
    for world, splits in worlds.items():
        train, valid, test = (add_group_inputs(splits[k]) for k in ("train", "valid", "test"))
        inputs = select_inputs(list(train.columns), train_cfg.include_group_attributes)
        y = test[f"label_{truth}"].to_numpy().astype(np.int64)
        for label in lb.labels:
            cfg_label = dataclasses.replace(train_cfg, label=label)
            model, _ = train_family(lb.family, cfg_label, train, valid, inputs)
            scores: dict[str, Scores] = {str(lb.family): _scores(model, test)}
            for attribute in lb.attributes:
                groups = test[f"group_{attribute}"].astype(str).to_numpy()
                t = group_table(
                    y, scores, groups, n_boot=cfg.n_boot, seed=cfg.seed, min_cell=cfg.min_cell,
                    ci=cfg.ci,
                )  # fmt: skip
                parts.append(t.assign(world=world, trained_on=label, attribute=attribute))
    out = pd.concat(parts, ignore_index=True)
    lead = ["world", "trained_on", "attribute", "model", "group"]
    return out[lead + [c for c in out.columns if c not in lead]]


def decompose(table: pd.DataFrame, cfg: FairnessParams) -> pd.DataFrame:
    """Split each disparity into what comes from the label and what comes from the world.

    For a group, a metric and a proxy label, with ``r(world, label)`` the group's disparity
    ratio (measured on the truth) of the model trained on ``label`` in ``world``::

        log r(as generated, proxy) =  [log r(as generated, proxy) - log r(as generated, truth)]
                                    + [log r(as generated, truth) - log r(without bias, truth)]
                                    +  log r(without bias, truth)

    the three terms being *from the label*, *from the world's planted biases* and *remaining*
    (real differences in risk between groups, and noise). The log makes them add up exactly.

    Parameters
    ----------
    table
        The output of :func:`label_bias`.
    cfg
        The ``fairness`` section.

    Returns
    -------
    pandas.DataFrame
        One row per (attribute, group, metric, proxy): the three ratios, the total log ratio
        and its three parts. Rows where any ratio is suppressed or undefined are left out.
    """
    truth = cfg.labels[0]
    keep = table[
        table["metric"].isin(cfg.label_bias.metrics) & (table["group"] != table["reference"])
    ]
    r = keep.pivot_table(
        index=["attribute", "group", "metric"], columns=["world", "trained_on"], values="ratio",
        aggfunc="first",
    )  # fmt: skip
    rows = []
    for proxy in cfg.label_bias.labels:
        if proxy == truth:
            continue
        cols = [(WORLDS[0], proxy), (WORLDS[0], truth), (WORLDS[1], truth)]
        if not all(c in r.columns for c in cols):
            continue
        sub = r[cols].dropna()
        sub = sub[(sub > 0).all(axis=1)]
        logs = np.log(sub.to_numpy(dtype=np.float64))
        for (attribute, group, metric), lr, ratios in zip(
            sub.index, logs, sub.to_numpy(), strict=True
        ):
            rows.append(
                {
                    "attribute": attribute,
                    "group": group,
                    "metric": metric,
                    "proxy": proxy,
                    "ratio_proxy_as_generated": float(ratios[0]),
                    "ratio_truth_as_generated": float(ratios[1]),
                    "ratio_truth_without_bias": float(ratios[2]),
                    "log_ratio_total": float(lr[0]),
                    "from_label": float(lr[0] - lr[1]),
                    "from_world": float(lr[1] - lr[2]),
                    "remaining": float(lr[2]),
                }
            )
    return pd.DataFrame(rows)
