"""The value of linked records: the same world, one model per view of the record.

Each view (:data:`secondlook.features.views.VIEWS`) is given the features it can compute; one
model family is trained per view on the same train/valid split and evaluated on the same test
decisions: AUPRC on the truth and on each proxy label (on the margin, the score the model ranks
by), recall of the referrals that warranted escalation at practice's number of enquiries (and
practice's own), and pattern recall -- among the referrals that warranted escalation while a
hidden factor was present, the share flagged at the capacity cut. The last rows say what the
narrower views miss: warranted referrals the multi-agency model flags and the view's model
does not, by hidden factor.

Explanation fidelity per view: each view's model is explained on the test split (exact
contributions against the clean record, or the mean, as ``explain.reference`` says) and its
reasons compared with the truth's drivers, as the explain stage does for the pipeline's models:
``fidelity_top_k_overlap`` and ``fidelity_spearman`` (every factor) and ``fidelity_raised_all``
/ ``fidelity_raised_observable`` (the factors that raised the score).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from secondlook.evaluate.compare import top_k
from secondlook.explain import explain_model
from secondlook.explain.fidelity import fidelity, raised_fidelity
from secondlook.features.reference import clean_record_reference
from secondlook.features.stage import assemble
from secondlook.features.views import VIEWS
from secondlook.models import select_inputs, train_family
from secondlook.schema import FACTORS, LABELS

__all__ = ["compare_views", "render_markdown"]


def compare_views(
    tables: dict[str, pd.DataFrame],
    features: Any,
    train: Any,
    *,
    views: Sequence[str] = tuple(VIEWS),
    family: str = "logreg",
    seed: int = 0,
    fidelity_k: int = 3,
    reference: str = "clean_record",
) -> pd.DataFrame:
    """Train ``family`` once per view on the same world and compare them on the test split.

    Parameters
    ----------
    tables
        The labelled world: households, people, events, decisions, truth.
    features
        The ``features`` section (its ``view`` is replaced per view).
    train
        The ``train`` section (label, capacity, calibration, the family's settings).
    views
        Views to compare; the first is the reference the others are compared with.
    family
        The model family.
    seed
        Tie-breaking seed for the top-K cuts.
    fidelity_k
        Factors compared with the truth's top drivers per decision (``explain.fidelity_k``).
    reference
        ``clean_record`` or ``mean``: what contributions are measured against
        (``explain.reference``).

    Returns
    -------
    pandas.DataFrame
        One row per view: ``view``, ``n_inputs``, ``auprc_<label>`` for every label,
        ``recall_at_practice_k``, ``practice_recall``, ``recall_at_capacity``,
        ``pattern_recall_<factor>``, ``fidelity_top_k_overlap``, ``fidelity_spearman``,
        ``fidelity_raised_all``, ``fidelity_raised_observable``, and
        ``missed_vs_<reference>_<factor>`` (share of the factor's warranted referrals the
        reference flags and this view does not).
    """
    truth = tables["truth"].set_index("decision_id")
    rows = []
    flagged: dict[str, pd.Series] = {}
    warranted: pd.Series | None = None
    states: pd.DataFrame | None = None
    for view in views:
        splits = assemble(tables, dataclasses.replace(features, view=view))
        inputs = select_inputs(list(splits["train"].columns), False)
        model, _ = train_family(family, train, splits["train"], splits["valid"], inputs)
        test = splits["test"]
        margin = model.decision_function(test[inputs])
        row: dict[str, Any] = {"view": view, "n_inputs": len(inputs), "n_test": len(test)}
        for label in LABELS:
            y = test[f"label_{label}"].to_numpy(dtype=bool)
            row[f"auprc_{label}"] = float(average_precision_score(y, margin)) if y.any() else np.nan
        y = test["label_warrants_escalation"].to_numpy(dtype=bool)
        escalated = (test["practice_outcome"] == "s47").to_numpy()
        k = int(escalated.sum())
        at_k = top_k(margin, k, seed)
        row["practice_recall"] = float((escalated & y).sum() / y.sum())
        row["recall_at_practice_k"] = float((at_k & y).sum() / y.sum())
        cap = top_k(margin, int(round(train.capacity * len(test))), seed)
        row["recall_at_capacity"] = float((cap & y).sum() / y.sum())
        ids = test["decision_id"].to_numpy()
        flagged[view] = pd.Series(cap, index=ids)
        if warranted is None:
            warranted = pd.Series(y, index=ids)
            states = truth.loc[ids, [f"state_{f}" for f in FACTORS]].astype(bool)
        assert states is not None
        for f in FACTORS:
            with_factor = warranted.to_numpy() & states[f"state_{f}"].to_numpy()
            n = with_factor.sum()
            row[f"pattern_recall_{f}"] = float((cap & with_factor).sum() / n) if n else np.nan
        row.update(_view_fidelity(model, splits["train"], test, truth, fidelity_k, reference))
        rows.append(row)
    out = pd.DataFrame(rows)
    reference = views[0]
    assert warranted is not None and states is not None
    for i, view in enumerate(views):
        ref, this = flagged[reference].to_numpy(), flagged[view].reindex(flagged[reference].index)
        missed = warranted.to_numpy() & ref & ~this.to_numpy(dtype=bool)
        for f in FACTORS:
            with_factor = warranted.to_numpy() & states[f"state_{f}"].to_numpy()
            n = with_factor.sum()
            out.loc[i, f"missed_vs_{reference}_{f}"] = (
                float((missed & with_factor).sum() / n) if n else np.nan
            )
        out.loc[i, f"missed_vs_{reference}"] = float(missed.sum() / warranted.sum())
    return out


def _view_fidelity(
    model: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    truth: pd.DataFrame,
    k: int,
    reference: str,
) -> dict[str, float]:
    """The fidelity of one view's model's reasons against the truth's drivers (test split)."""
    ref = (
        clean_record_reference(train, list(model.family.inputs_))
        if reference == "clean_record"
        else None
    )
    expl = explain_model(model, test, reference=ref, check_additivity=False)
    rows = truth.loc[test["decision_id"].to_numpy()]
    fid = fidelity(expl, rows, k=k)
    raised = raised_fidelity(expl, rows, k=k)
    return {
        "fidelity_top_k_overlap": float(fid["top_k_overlap"]),
        "fidelity_spearman": float(fid["spearman"]),
        "fidelity_raised_all": float(raised["raised_all"]),
        "fidelity_raised_observable": float(raised["raised_observable"]),
    }


def render_markdown(table: pd.DataFrame) -> str:
    """The comparison as a short markdown report section (views as columns)."""
    t = table.set_index("view").T
    lines = [
        "## The value of linked records",
        "",
        "The same world; one model per view of the record, evaluated on the same test "
        "referrals. AUPRC on the margin; recall of the referrals that warranted escalation; "
        "pattern recall: among warranted referrals with a hidden factor present, the share "
        "flagged at the capacity cut; `missed_vs_…`: warranted referrals the reference view "
        "flags and this view does not.",
        "",
        "| measure | " + " | ".join(t.columns) + " |",
        "| --- | " + " | ".join("---" for _ in t.columns) + " |",
    ]
    for name, values in t.iterrows():
        cells = []
        for v in values:
            if isinstance(v, float | np.floating):
                cells.append("n/a" if np.isnan(v) else f"{v:.3f}")
            else:
                cells.append(str(v))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
