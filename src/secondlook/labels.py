"""The labels a real service can observe, from the canonical tables alone.

One rule for the synthetic world and for a cohort with no ground truth: :func:`proxy_labels`
(a plan started, another referral, a removal, within 365 days after the decision).
:func:`observed_decisions` makes a cohort's referrals its decisions (practice's outcome as the
cohort recorded it) and gives each the proxy labels its source can observe, keeping only the
decisions with a full follow-up before the cohort's end. Knows only :mod:`secondlook.schema`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from secondlook.schema import PROXY_LABELS

__all__ = ["LABEL_NEEDS", "observed_decisions", "proxy_labels"]

#: proxy label -> the event kind it is observed from
LABEL_NEEDS: dict[str, str] = {
    "cp_plan_12m": "cp_plan_started",
    "rereferral_12m": "referral",
    "removal_12m": "child_removed",
}
assert tuple(LABEL_NEEDS) == PROXY_LABELS


def proxy_labels(decisions: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The labels a real agency could observe within 12 months after each decision.

    ``cp_plan_12m``: a child protection plan started for the child; ``rereferral_12m``: another
    referral of the child; ``removal_12m``: the child removed — each dated after the decision
    date and at most 365 days later.

    Parameters
    ----------
    decisions
        Columns ``person_id``, ``decision_date``.
    events
        The events table.

    Returns
    -------
    pandas.DataFrame
        One boolean column per proxy label, aligned with ``decisions``.
    """
    d = decisions["decision_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    # the events of every kind needed, selected and their people coded once (not per label:
    # the seed patterns call this for each of 240 tiny variants)
    e = events.loc[events["type"].isin(list(LABEL_NEEDS.values())), ["person_id", "date", "type"]]
    codes, _ = pd.factorize(pd.concat([e["person_id"], decisions["person_id"]]))
    ep, dp = codes[: len(e)].astype(np.int64), codes[len(e) :].astype(np.int64)
    ed = e["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    etypes = e["type"].to_numpy(dtype=object)
    out = {}
    for label, etype in LABEL_NEEDS.items():
        m = etypes == etype
        key = np.sort(ep[m] * 10**6 + ed[m])
        lo = np.searchsorted(key, dp * 10**6 + d, side="right")
        hi = np.searchsorted(key, dp * 10**6 + d + 365, side="right")
        out[label] = hi > lo
    return pd.DataFrame(out, index=decisions.index)


def observed_decisions(
    events: pd.DataFrame,
    *,
    end: dt.date,
    follow_up_months: int,
    decisions_from: dt.date | None = None,
    records: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cohort's referrals as decisions, with the proxy labels its source can observe.

    Parameters
    ----------
    events
        The cohort's canonical events.
    end
        The cohort's last day (its data extraction date).
    follow_up_months
        Decisions later than ``end`` minus this many months are left out (their labels could
        not be observed): the same rule as the synthetic world's.
    decisions_from
        Earlier referrals are history only.
    records
        Event kinds the source records (default: those present); a label whose kind is not
        recorded is absent, never False.

    Returns
    -------
    decisions, labels
        ``decisions`` in the canonical shape (decision id = the referral's event id,
        ``practice_outcome`` from its ``referral_outcome``; referrals with no recorded outcome
        are left out); ``labels``: ``decision_id`` and one boolean column per observable proxy.
    """
    recorded = set(pd.unique(events["type"])) if records is None else set(records)
    refs = events[events["type"] == "referral"]
    outcome = events.loc[events["type"] == "referral_outcome", ["person_id", "date", "detail"]]
    outcome = outcome.drop_duplicates(["person_id", "date"])
    dec = refs.merge(outcome, on=["person_id", "date"], how="inner", suffixes=("", "_outcome"))
    last = (pd.Timestamp(end) - pd.DateOffset(months=follow_up_months)).normalize()
    keep = dec["date"] <= last
    if decisions_from is not None:
        keep &= dec["date"] >= pd.Timestamp(decisions_from)
    dec = dec[keep].sort_values(["date", "event_id"], kind="stable").reset_index(drop=True)
    decisions = pd.DataFrame(
        {
            "decision_id": dec["event_id"].astype("str"),
            "person_id": dec["person_id"].astype("str"),
            "household_id": dec["household_id"].astype("str"),
            "referral_event_id": dec["event_id"].astype("str"),
            "decision_date": dec["date"].astype("datetime64[s]"),
            "practice_outcome": dec["detail_outcome"].astype("str"),
        }
    )
    labels = proxy_labels(decisions, events)
    labels = labels[[c for c in labels.columns if LABEL_NEEDS[c] in recorded]]
    labels.insert(0, "decision_id", decisions["decision_id"])
    return decisions, labels
