"""From a simulated :class:`~secondlook.synth.world.World` to the canonical tables and truth."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.params import SynthParams
from secondlook.schema import ETHNICITIES, FACTORS, OUTCOMES, SOURCES
from secondlook.synth import risk
from secondlook.synth.world import DETAILS, ROLE_CODES, TYPES, World

IntArray = npt.NDArray[np.int64]


def ids(prefix: str, index: npt.ArrayLike, width: int) -> pd.Series:
    """Opaque string ids: ``prefix`` followed by the zero-padded index."""
    idx = np.asarray(index, dtype=np.int64)
    return pd.Series(np.char.add(prefix, np.char.zfill(idx.astype(str), width)), dtype="str")


def _dates(days: npt.ArrayLike) -> pd.Series:
    return pd.Series(np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]"))


def _months(start_month: np.datetime64, months: npt.ArrayLike) -> pd.Series:
    m = start_month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    return pd.Series(m.astype("datetime64[D]").astype("datetime64[s]"))


def _optional(values: npt.ArrayLike, labels: pd.Series) -> pd.Series:
    v = np.asarray(values, dtype=np.int64)
    out = pd.Series(pd.NA, index=range(len(v)), dtype="str")
    has = v >= 0
    out[has] = labels.to_numpy()[v[has]]
    return out


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
    out = {}
    for label, etype in (
        ("cp_plan_12m", "cp_plan_started"),
        ("rereferral_12m", "referral"),
        ("removal_12m", "child_removed"),
    ):
        e = events.loc[events["type"] == etype, ["person_id", "date"]]
        codes, uniques = pd.factorize(pd.concat([e["person_id"], decisions["person_id"]]))
        ep, dp = codes[: len(e)].astype(np.int64), codes[len(e) :].astype(np.int64)
        ed = e["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        key = np.sort(ep * 10**6 + ed)
        lo = np.searchsorted(key, dp * 10**6 + d, side="right")
        hi = np.searchsorted(key, dp * 10**6 + d + 365, side="right")
        out[label] = hi > lo
    return pd.DataFrame(out, index=decisions.index)


def truth_from_state(
    state: dict[str, np.ndarray], decile: np.ndarray, age: np.ndarray, params: SynthParams
) -> pd.DataFrame:
    """True log-odds, risk, drivers and state columns from the hidden state at each decision."""
    values = risk.factor_values(state, decile)
    eta = risk.logodds(values, age, params.harm)
    base = params.harm.intercept + risk.age_logodds(age, params.harm)
    drv = risk.drivers(values, params.harm)
    out = {
        "true_risk_12m": risk.sigmoid(eta),
        "true_logodds": eta,
        "baseline_logodds": base,
    }
    out.update({f"state_{f}": values[f] > 0 for f in FACTORS})
    out.update({f"driver_{f}": drv[f] for f in FACTORS})
    return pd.DataFrame(out)


def with_outcomes(
    truth: pd.DataFrame,
    decisions: pd.DataFrame,
    events: pd.DataFrame,
    harm_no_action: npt.ArrayLike,
    harm_observed: npt.ArrayLike,
    params: SynthParams,
) -> pd.DataFrame:
    """Complete a truth table: decision ids, the escalation label, outcomes and proxy labels.

    Parameters
    ----------
    truth
        The output of :func:`truth_from_state`, aligned with ``decisions``.
    decisions, events
        The decisions and the events table (for the proxy labels).
    harm_no_action, harm_observed
        The two potential outcomes per decision.
    params
        The ``synth`` settings (``escalation_threshold``).

    Returns
    -------
    pandas.DataFrame
        ``truth`` with ``decision_id`` first and every label of :data:`secondlook.schema.LABELS`.
    """
    truth = truth.copy()
    truth.insert(0, "decision_id", decisions["decision_id"].to_numpy())
    truth["warrants_escalation"] = truth["true_risk_12m"] >= params.escalation_threshold
    truth["harm_12m_no_action"] = np.asarray(harm_no_action, dtype=bool)
    truth["harm_12m_observed"] = np.asarray(harm_observed, dtype=bool)
    proxies = proxy_labels(decisions, events)
    for label in proxies.columns:
        truth[str(label)] = proxies[label].to_numpy()
    return truth


def to_tables(
    world: World, params: SynthParams, *, labelled: bool = True
) -> dict[str, pd.DataFrame]:
    """Name everything and build the canonical tables (and decisions and truth if labelled).

    Parameters
    ----------
    world
        The simulated world.
    params
        The ``synth`` settings.
    labelled
        Build ``decisions`` and ``truth`` (the scoring cohort has neither).

    Returns
    -------
    dict of str to pandas.DataFrame
    """
    hh = world.households
    nh = len(hh["deprivation_decile"])
    hh_ids = ids("H", np.arange(nh), 6)
    households = pd.DataFrame(
        {
            "household_id": hh_ids,
            "local_authority": ids("LA", hh["local_authority"] + 1, 2),
            "deprivation_decile": hh["deprivation_decile"].astype(np.int64),
        }
    )
    p = world.people
    npeople = len(p["household"])
    person_ids = ids("P", np.arange(npeople), 7)
    disability = pd.array(
        np.where(p["disability"] < 0, False, p["disability"] > 0), dtype="boolean"
    )
    disability[p["disability"] < 0] = pd.NA
    people = pd.DataFrame(
        {
            "person_id": person_ids,
            "household_id": hh_ids.to_numpy()[p["household"]],
            "role": pd.Series(np.array(ROLE_CODES)[p["role"]], dtype="str"),
            "sex": pd.Series(np.array(["F", "M"])[p["sex"]], dtype="str"),
            "birth_month": _months(world.start_month, p["birth_month"]),
            "ethnicity": pd.Series(
                np.array(ETHNICITIES)[hh["ethnicity"][p["household"]]], dtype="str"
            ),
            "disability": disability,
        }
    )
    ev = world.events
    # a stable, meaningful order: by date, household, person, then the order events happen
    order = np.lexsort((ev["type"], ev["person"], ev["household"], ev["day"]))
    ev = {k: v[order] for k, v in ev.items()}
    events = pd.DataFrame(
        {
            "event_id": ids("E", np.arange(len(order)), 8),
            "household_id": hh_ids.to_numpy()[ev["household"]],
            "person_id": person_ids.to_numpy()[ev["person"]],
            "date": _dates(ev["day"]),
            "type": pd.Series(np.array(TYPES)[ev["type"]], dtype="str"),
            "source": pd.Series(np.array(SOURCES)[ev["source"]], dtype="str"),
            "detail": _optional(ev["detail"], pd.Series(DETAILS)),
            "related_person_id": _optional(ev["related"], person_ids),
        }
    )
    tables = {"households": households, "people": people, "events": events}
    if not labelled:
        return tables

    refs = world.referrals
    is_ref = ev["ref_index"] >= 0
    r_index = ev["ref_index"][is_ref]
    r_day = ev["day"][is_ref]
    lo = np.datetime64(params.decisions_from, "D").astype(np.int64)
    last_month = world.n_months - 1 - params.follow_up_months
    r_month = refs["month"][r_index].astype(np.int64)
    in_window = (r_day >= lo) & (r_month <= last_month)
    r_index, rows = r_index[in_window], np.flatnonzero(is_ref)[in_window]
    n = len(r_index)
    decisions = pd.DataFrame(
        {
            "decision_id": ids("D", np.arange(n), 7),
            "person_id": events["person_id"].to_numpy()[rows],
            "household_id": events["household_id"].to_numpy()[rows],
            "referral_event_id": events["event_id"].to_numpy()[rows],
            "decision_date": events["date"].to_numpy()[rows],
            "practice_outcome": pd.Series(
                np.array(OUTCOMES)[refs["outcome"][r_index].astype(np.int64)], dtype="str"
            ),
        }
    )
    state = {f: refs[f"state_{f}"][r_index] for f in FACTORS if f != "deprivation"}
    truth = truth_from_state(
        state, refs["deprivation_decile"][r_index], refs["age"][r_index], params
    )
    # potential outcomes over the 12 months after the decision month, common random numbers
    ch = world.children
    child = refs["child"][r_index].astype(np.int64)
    month = r_month[in_window]
    f = params.follow_up_months
    months = month[:, None] + 1 + np.arange(f)[None, :]
    age = months - ch["birth_month"][child][:, None]
    alive = (age >= 0) & (age < params.household.childhood_months)
    eta = ch["eta"][child[:, None], months]
    u = ch["u"][child[:, None], months]
    harm_no_action = (alive & (u < risk.monthly_hazard(eta))).any(axis=1)
    harm_observed = ch["harm"][child[:, None], months].any(axis=1)
    truth = with_outcomes(truth, decisions, events, harm_no_action, harm_observed, params)
    tables["decisions"] = decisions
    tables["truth"] = truth
    return tables
