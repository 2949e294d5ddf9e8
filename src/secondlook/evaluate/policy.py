"""What the policy on reasons costs and buys: every family under four settings, side by side.

The settings are the studies ``guidance-policy``, ``practice-blind`` and both, beside the default:

=========================  ================  ===========================
setting                    ``train.policy``  ``features.practice_features``
=========================  ================  ===========================
none                       none              include
guidance                   guidance          include
practice-blind             none              exclude
guidance+practice-blind    guidance          exclude
=========================  ================  ===========================

For each setting and family the same data are used: fit on train, calibrate on valid, then on
test the AUPRC of the margin (what the model ranks by), the fidelity of the factors that raised
each score (all factors, observable factors) against the clean record, and how many of the top
reasons contradict guidance; on the pattern variants the recall at the marked decisions and the
control flag rates; and the seed decisions' probabilities and flags. Whatever the numbers say is
reported as found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from secondlook.errors import MissingInputError
from secondlook.evaluate.patterns import headline, pattern_metrics
from secondlook.explain import explain_model
from secondlook.explain.fidelity import raised_fidelity
from secondlook.explain.reasons import against_guidance, top_reasons
from secondlook.features import build_features
from secondlook.features.reference import clean_record_reference
from secondlook.features.stage import read_splits
from secondlook.models import add_group_inputs, label_column, select_inputs, train_family
from secondlook.params import EvaluateParams, ExplainParams, SynthParams, TrainParams
from secondlook.schema import last_seed_decisions, seed_case_prefixes
from secondlook.synth.patterns import CONTROL_WORDS, CONTROLS, SEED_PATTERNS, pattern_tables

__all__ = [
    "COMPARED",
    "SETTINGS",
    "compare_with_runs",
    "pipeline_rows",
    "policy_comparison",
    "policy_table_markdown",
    "run_policy",
    "setting_of",
]

#: setting -> (train.policy, features.practice_features)
SETTINGS: dict[str, tuple[str, str]] = {
    "none": ("none", "include"),
    "guidance": ("guidance", "include"),
    "practice-blind": ("none", "exclude"),
    "guidance+practice-blind": ("guidance", "exclude"),
}


def policy_comparison(
    cfg: TrainParams,
    splits: Mapping[str, pd.DataFrame],
    truth_test: pd.DataFrame,
    *,
    label: str,
    patterns: Mapping[str, pd.DataFrame] | None = None,
    seed_ids: tuple[str, ...] = (),
    settings: tuple[str, ...] = tuple(SETTINGS),
    families: tuple[str, ...] | None = None,
    top_k: int = 5,
    fidelity_k: int = 3,
    log: Any = print,
) -> pd.DataFrame:
    """One row per setting and family: the costs and the gains of the policy.

    Parameters
    ----------
    cfg
        The ``train:`` section (its ``policy`` is overridden per setting).
    splits
        ``train``, ``valid``, ``test`` feature tables (with group inputs added).
    truth_test
        Truth rows aligned with ``splits["test"]`` (``driver_*``).
    label
        The evaluated label (``evaluate.label``), a ``label_<x>`` column of the test split.
    patterns
        Optional: ``features`` (the pattern variants' feature rows), ``marks`` and ``truth``.
    seed_ids
        Decision ids whose probability and flag are reported (e.g. ``sarah-D08``), looked up in
        every split.
    settings, families
        Which settings and families (default: all four; ``train.families``).
    top_k, fidelity_k
        Reasons inspected per decision; factors compared per decision.
    log
        Where progress lines go.

    Returns
    -------
    pandas.DataFrame
        Columns ``setting``, ``family``, ``policy``, ``practice_features``, ``n_inputs``,
        ``auprc_margin``, ``raised_all``, ``raised_observable``, ``reasons_against_guidance``
        (count among the test split's top-``top_k`` reasons), ``reasons_against_guidance_share``,
        pattern columns (``sarah_recall``, ``john_recall``, ``control_frequent_flag_rate``,
        ``control_deprived_flag_rate``) and ``<seed id>_probability`` / ``_flag``.
    """
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    seeds = pd.concat([s for s in splits.values()], ignore_index=True)
    seeds = seeds[seeds["decision_id"].isin(seed_ids)].drop_duplicates("decision_id")
    y = test[label_column(label)].to_numpy()
    rows = []
    for setting in settings:
        policy, practice = SETTINGS[setting]
        scfg = dataclasses.replace(cfg, policy=policy)  # type: ignore[arg-type]
        inputs = select_inputs(
            list(train.columns), scfg.include_group_attributes, practice_features=practice
        )
        for family in families or scfg.families:
            model, _ = train_family(family, scfg, train, valid, inputs)
            row: dict[str, Any] = {
                "setting": setting,
                "family": family,
                "policy": policy,
                "practice_features": practice,
                "n_inputs": len(model.family.inputs_),
                "auprc_margin": float(average_precision_score(y, model.decision_function(test))),
                **_reason_columns(model, train, test, truth_test, top_k, fidelity_k),
            }
            if patterns is not None:
                row.update(_pattern_columns(model, family, patterns, train))
            row.update(_seed_columns(model, seeds))
            rows.append(row)
            log(
                f"policy {setting} {family}: AUPRC {row['auprc_margin']:.3f}, "
                f"against guidance {row['reasons_against_guidance']}"
            )
    return pd.DataFrame(rows)


def _reason_columns(
    model: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    truth_test: pd.DataFrame,
    top_k: int,
    fidelity_k: int,
) -> dict[str, Any]:
    """Fidelity of the raised factors and the top reasons that contradict guidance, on test."""
    ref = clean_record_reference(train, list(model.family.inputs_))
    expl = explain_model(model, test, reference=ref, check_additivity=False)
    reasons = [r for rs in top_reasons(expl, top_k) for r in rs]
    refd = {str(c): float(v) for c, v in ref.items()}
    against = sum(
        against_guidance(r["feature"], r["contribution"], r["value"], refd.get(r["feature"]))
        is not None
        for r in reasons
    )
    return {
        **raised_fidelity(expl, truth_test, k=fidelity_k),
        "reasons_against_guidance": int(against),
        "reasons_against_guidance_share": against / max(len(reasons), 1),
    }


def _pattern_columns(
    model: Any, family: str, patterns: Mapping[str, pd.DataFrame], train: pd.DataFrame
) -> dict[str, Any]:
    """The pattern headline of one model (:func:`~secondlook.evaluate.patterns.headline`)."""
    pm = pattern_metrics(
        {family: model}, patterns["features"], patterns["marks"], patterns["truth"], train, n_boot=1
    )
    return dict(headline(pm)[family])


def _seed_columns(model: Any, seeds: pd.DataFrame) -> dict[str, Any]:
    """``<decision id>_probability`` and ``_flag`` for each seed decision."""
    out: dict[str, Any] = {}
    if len(seeds):
        probs = model.probability(seeds)
        flags = model.flag(seeds)
        for did, p, f in zip(seeds["decision_id"], probs, flags, strict=True):
            out[f"{did}_probability"] = float(p)
            out[f"{did}_flag"] = bool(f)
    return out


def run_policy(
    ev: EvaluateParams,
    ex: ExplainParams,
    synth: SynthParams,
    cfg: TrainParams,
    features_dir: Path,
    raw_dir: Path,
    *,
    families: tuple[str, ...] | None = None,
    log: Any = print,
) -> pd.DataFrame:
    """The ``policy`` command's core: read the splits and the truth, build the pattern
    variants, and run :func:`policy_comparison` for the seed decisions of the vignettes.

    Parameters
    ----------
    ev, ex, synth, cfg
        The ``evaluate``, ``explain``, ``synth`` and ``train`` sections.
    features_dir
        Folder of ``train``, ``valid``, ``test`` feature tables.
    raw_dir
        Folder of the labelled world (its ``truth.parquet``).
    families
        Families to compare (default ``train.families``).
    log
        Where progress lines go.

    Returns
    -------
    pandas.DataFrame
        See :func:`policy_comparison`.

    Raises
    ------
    MissingInputError
        If a split table or the truth table is missing.
    """
    splits = {name: add_group_inputs(t) for name, t in read_splits(features_dir).items()}
    truth_path = Path(raw_dir) / "truth.parquet"
    if not truth_path.is_file():
        raise MissingInputError(f"{truth_path} not found; run `dvc repro generate` first")
    truth = pd.read_parquet(truth_path).set_index("decision_id")
    tables = pattern_tables(ev.pattern_variants, ev.pattern_seed, synth)
    pattern_features = add_group_inputs(
        build_features(
            tables["households"], tables["people"], tables["events"], tables["decisions"]
        )
    )
    prefixes = seed_case_prefixes(synth.vignettes)
    seed_ids = tuple(
        str(d) for s in splits.values() for d in s["decision_id"] if str(d).startswith(prefixes)
    )
    return policy_comparison(
        cfg,
        splits,
        truth.reindex(splits["test"]["decision_id"]),
        label=ev.label,
        patterns={"features": pattern_features, "marks": tables["marks"], "truth": tables["truth"]},
        seed_ids=seed_ids,
        families=families,
        top_k=ex.top_k,
        fidelity_k=ex.fidelity_k,
        log=log,
    )


def policy_table_markdown(table: pd.DataFrame, vignettes: Sequence[str] = ()) -> str:
    """The report's table "what the policy costs and buys" as markdown.

    Parameters
    ----------
    table
        From :func:`policy_comparison`.
    vignettes
        The seed cases' names (``synth.vignettes``): each case's last decision in ``table``
        (the referral closest to the harm) gets a probability and a flag column.

    Returns
    -------
    str
    """
    cols = [
        ("family", "family"),
        ("setting", "setting"),
        ("auprc_margin", "AUPRC (margin)"),
        *((f"{p}_recall", f"{p.capitalize()}-pattern recall") for p in SEED_PATTERNS),
        *((f"{c}_flag_rate", f"control flagged: {CONTROL_WORDS[c]}") for c in CONTROLS),
        ("raised_all", "fidelity (all)"),
        ("raised_observable", "fidelity (observable)"),
        ("reasons_against_guidance", "reasons against guidance"),
    ]
    seeds = (c.removesuffix("_probability") for c in table.columns if c.endswith("_probability"))
    for seed_id in last_seed_decisions(seeds, vignettes):
        cols += [(f"{seed_id}_probability", f"{seed_id} chance"), (f"{seed_id}_flag", "flagged")]
    cols = [(c, h) for c, h in cols if c in table]

    def fmt(v: Any) -> str:
        if isinstance(v, bool | np.bool_):
            return "yes" if v else "no"
        if isinstance(v, float | np.floating):
            return "—" if np.isnan(v) else f"{v:.3f}"
        return str(v)

    ordered = table.sort_values(["family", "setting"], kind="stable")
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + " --- |" * len(cols)]
    for _, r in ordered.iterrows():
        lines.append("| " + " | ".join(fmt(r[c]) for c, _ in cols) + " |")
    return "\n".join(lines) + "\n"


#: the policy table's columns that a pipeline run (a study's DVC experiment) also writes
COMPARED: tuple[str, ...] = (
    "auprc_margin",
    "raised_all",
    "raised_observable",
    "reasons_against_guidance",
    *(f"{p}_recall" for p in SEED_PATTERNS),
    *(f"{c}_flag_rate" for c in CONTROLS),
    *(f"{p}_reasons_name_pattern" for p in SEED_PATTERNS),
)


def setting_of(policy: str, practice_features: str) -> str:
    """The :data:`SETTINGS` name of ``train.policy`` and ``features.practice_features``.

    Raises
    ------
    KeyError
        If the pair is not one of the four settings.
    """
    for name, pair in SETTINGS.items():
        if pair == (policy, practice_features):
            return name
    raise KeyError(
        f"no setting has train.policy={policy} and practice_features={practice_features}"
    )


def pipeline_rows(
    metrics: Mapping[str, Any],
    patterns: Mapping[str, Any],
    summary: Mapping[str, Any],
    fidelity: Mapping[str, Any],
    *,
    setting: str,
    seed_cases: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The policy table's rows as a whole pipeline run wrote them, one per family.

    What :func:`policy_comparison` computes in one process, read back from the outputs of the
    stages that compute it for the trained models: ``reports/metrics.json`` (AUPRC of the
    margin), ``reports/patterns.json`` (``headline``), ``reports/explanations/summary.json``
    (reasons against guidance among the top-k) and ``fidelity.json`` (``raised_*``), and
    optionally ``reports/seed-cases.csv`` (each seed decision's probability and flag). A study
    run as a DVC experiment writes these files under its own setting.

    Parameters
    ----------
    metrics, patterns, summary, fidelity
        The parsed JSON files.
    setting
        Which of :data:`SETTINGS` the run used.
    seed_cases
        The evaluate stage's seed-case table, or None.

    Returns
    -------
    pandas.DataFrame
        Columns ``setting``, ``family`` and those of :data:`COMPARED` the run wrote (plus
        ``<decision>_probability`` / ``_flag`` with ``seed_cases``).
    """
    rows = []
    for family, values in metrics["families"].items():
        row: dict[str, Any] = {
            "setting": setting,
            "family": family,
            "auprc_margin": values["auprc"],
        }
        row.update(patterns.get("headline", {}).get(family, {}))
        for key in ("raised_all", "raised_observable"):
            if key in fidelity.get(family, {}):
                row[key] = fidelity[family][key]
        if "reasons_against_guidance" in summary.get(family, {}):
            row["reasons_against_guidance"] = summary[family]["reasons_against_guidance"]
        if seed_cases is not None and f"{family}_score" in seed_cases:
            for did, p, f in zip(
                seed_cases["decision_id"],
                seed_cases[f"{family}_score"],
                seed_cases[f"{family}_flag"],
                strict=True,
            ):
                row[f"{did}_probability"] = float(p)
                row[f"{did}_flag"] = bool(f)
        rows.append(row)
    return pd.DataFrame(rows)


def compare_with_runs(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The largest difference between the policy table and pipeline runs, per setting and column.

    Parameters
    ----------
    table
        From :func:`policy_comparison` (or ``reports/policy.json``).
    runs
        :func:`pipeline_rows` of one or more runs (e.g. the default pipeline and each study).

    Returns
    -------
    pandas.DataFrame
        One row per setting and compared column: ``setting``, ``column``, ``families`` (how
        many were compared), ``max_abs_diff`` (0 where every family agrees exactly) and
        ``worst_family``. Flags count as 0/1.

    Raises
    ------
    ValueError
        If a setting and family of ``runs`` has no row in ``table``.
    """
    key = ["setting", "family"]
    joined = runs.merge(table, on=key, how="left", suffixes=("_run", ""), indicator=True)
    lost = joined[joined["_merge"] != "both"]
    if len(lost):
        first = lost.iloc[0]
        raise ValueError(
            f"the policy table has no row for setting {first['setting']}, family {first['family']}"
        )
    columns = [c for c in runs.columns if c not in key and c in table.columns]
    out = []
    for setting, group in joined.groupby("setting", sort=True):
        for column in columns:
            a = group[f"{column}_run"].astype(float).to_numpy()
            b = group[column].astype(float).to_numpy()
            diff = np.abs(a - b)
            worst = int(np.nanargmax(diff)) if np.isfinite(diff).any() else 0
            out.append(
                {
                    "setting": setting,
                    "column": column,
                    "families": int(np.isfinite(diff).sum()),
                    "max_abs_diff": float(np.nanmax(diff)) if np.isfinite(diff).any() else np.nan,
                    "worst_family": str(group["family"].iloc[worst]),
                }
            )
    return pd.DataFrame(out)
