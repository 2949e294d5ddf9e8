"""The value of linked records in the report: how much models lose with only what CSC records.

A self-contained addition to the ethics-panel report, placed at the end of section 5: the
``views`` stage's comparison (``reports/views/views.csv``; one model per view of the record on
the same world and the same test referrals) as one table, measures by view, and one sentence on
what the narrowest view loses. Shown only when the comparison was run on a simulated world
(on real records the stage writes no rows: its measures need the ground truth).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from secondlook.report.fmt import fmt_share
from secondlook.report.model import Table

__all__ = ["MEASURES", "VIEW_NAMES", "ViewsTable", "views_table"]

#: views.csv column -> the row's name in the report, and whether it is a share (else a count)
MEASURES: dict[str, tuple[str, bool]] = {
    "n_inputs": ("Features the view can compute", False),
    "auprc_warrants_escalation": ("AUPRC against the truth (warranted escalation)", True),
    "auprc_cp_plan_12m": ("AUPRC against a plan within 12 months (recorded)", True),
    "auprc_rereferral_12m": ("AUPRC against another referral within 12 months (recorded)", True),
    "recall_at_capacity": ("Warranted referrals flagged at the capacity cut", True),
    "recall_at_practice_k": ("Warranted referrals caught at practice's number of enquiries", True),
    "practice_recall": ("… and by practice itself", True),
    "fidelity_top_k_overlap": ("Fidelity: top reasons that name the truth's top drivers", True),
    "fidelity_raised_all": ("Fidelity of the factors that raised the score", True),
    "missed_vs_multi_agency": (
        "Warranted referrals the multi-agency model flags and this misses",
        True,
    ),
}
#: view -> its name in the report
VIEW_NAMES: dict[str, str] = {
    "multi_agency": "multi-agency",
    "csc_records": "children's social care records",
    "cin_census": "CIN census",
}


@dataclasses.dataclass(frozen=True)
class ViewsTable:
    """The views comparison as the report shows it.

    Attributes
    ----------
    shown
        False when ``views.csv`` is absent or has no rows (then nothing is rendered).
    intro
        How the comparison was made, in one paragraph.
    table
        Measures (rows) by view (columns).
    finding
        What the narrowest view loses against the multi-agency view, with figures.
    """

    shown: bool = False
    intro: str = ""
    table: Table | None = None
    finding: str = ""


def _cell(value: object, share: bool) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "not computed"
    return f"{float(value):.3f}" if share else f"{int(float(value)):,}"  # type: ignore[arg-type]


def views_table(path: Path | None, family: str = "logreg") -> ViewsTable:
    """Read the views stage's ``views.csv`` into the report's table.

    Parameters
    ----------
    path
        ``reports/views/views.csv`` (or None).
    family
        The family the views stage trained per view (its ``--family``; default ``logreg``).

    Returns
    -------
    ViewsTable
    """
    if path is None or not path.is_file():
        return ViewsTable()
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return ViewsTable()
    if frame.empty or "view" not in frame.columns:
        return ViewsTable()
    frame = frame.set_index("view")
    views = list(frame.index)
    rows = tuple(
        (name, *(_cell(frame.loc[v, column], share) for v in views))
        for column, (name, share) in MEASURES.items()
        if column in frame.columns
    )
    table = Table(
        caption="One model per view of the record, on the same world and the same test referrals",
        columns=("measure", *(VIEW_NAMES.get(str(v), str(v)) for v in views)),
        rows=rows,
        note="AUPRC on the model's score (0 to 1; the share of positives is what chance gives). "
        "Fidelity compares each referral's top reasons with the hidden factors that truly drove "
        "the child's risk in the simulation.",
    )
    intro = (
        f"What a model can read depends on what the source records. The same {family} model was "
        "trained once per view: the multi-agency view (everything the simulator emits: police, "
        "health, school and adult services, households), children's social care's own case "
        "records, and the CIN census (what the annual return holds: no adults, no households). "
        "A feature a view cannot compute is absent from its model, never filled with 0."
    )
    finding = ""
    ref, narrow = views[0], views[-1]
    if "auprc_warrants_escalation" in frame.columns and ref != narrow:
        a = float(frame.loc[ref, "auprc_warrants_escalation"])
        b = float(frame.loc[narrow, "auprc_warrants_escalation"])
        finding = (
            f"With only the {VIEW_NAMES.get(str(narrow), narrow)}, AUPRC against the truth is "
            f"{b:.3f} against {a:.3f} with the {VIEW_NAMES.get(str(ref), ref)} view"
        )
        if "missed_vs_multi_agency" in frame.columns:
            miss = float(frame.loc[narrow, "missed_vs_multi_agency"])
            finding += (
                f"; it misses {fmt_share(miss)} of the warranted referrals the multi-agency "
                "model flags"
            )
        finding += ". This is one invented world: the size of the loss depends on how much "
        finding += "the simulation lets other agencies see."
    return ViewsTable(shown=True, intro=intro, table=table, finding=finding)
