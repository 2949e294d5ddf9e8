"""Sections read from the stages after evaluate: fairness, explanations, seed cases, provenance.

Each function returns its section with ``missing`` filled in when its inputs are absent, so a
report built before the fairness or explain stage has run still renders, with those sections
marked "not available in this run".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from secondlook.evaluate.fairness import GROUP_METRICS, parity_verdict
from secondlook.features import spec
from secondlook.report import texts
from secondlook.report.explain_tables import (
    additivity_table,
    fidelity_table,
    patterns_table,
    policy_table,
    stability_table,
)
from secondlook.report.fmt import (
    family_name,
    finite,
    fmt_interval,
    fmt_level,
    json_tables,
    png_file,
)
from secondlook.report.groups import group_label, label_bias_table, label_name
from secondlook.report.headlines import fidelity_intro, label_bias_intro, stability_intro
from secondlook.report.inputs import ReportInputs
from secondlook.report.lockfile import upstream_outputs
from secondlook.report.model import (
    Explanations,
    Fairness,
    Figure,
    Missing,
    Reproducibility,
    SeedCase,
    SeedCases,
    SeedDecision,
    Table,
)

__all__ = [
    "explanations_section",
    "fairness_section",
    "flatten",
    "need",
    "read_json",
    "reproducibility_section",
    "seed_cases_section",
    "show_path",
    "spec_name",
]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def need(paths: Iterable[Path], produced_by: str, root: Path | None) -> tuple[Missing, ...]:
    out = []
    for p in paths:
        if not p.exists():
            shown = p.relative_to(root) if root and p.is_relative_to(root) else p
            out.append(Missing(str(shown), produced_by))
    return tuple(out)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, dict):
        rows: list[tuple[str, str]] = []
        for k, v in data.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(data, list):
        return [(prefix, ", ".join(str(v) for v in data))]
    return [(prefix, str(data))]


_GROUP_METRICS = (
    ("flag_rate", "flagged", True),
    ("tpr", "warranted: flagged (TPR)", True),
    ("fpr", "not warranted: flagged (FPR)", True),
    ("fnr", "warranted: missed (FNR)", True),
    ("ppv", "flags warranted (PPV)", True),
    ("auroc", "AUROC", False),
    ("mean_predicted", "mean predicted", True),
    ("observed", "observed rate", True),
)


def _verdict(cell: Any) -> str | None:
    """A cell's parity verdict ("inside", "outside", "uncertain"), None without a ratio."""
    if not isinstance(cell, dict) or not finite(cell.get("ratio")):
        return None
    return str(cell.get("parity") or parity_verdict(cell.get("ratio_lo"), cell.get("ratio_hi")))


def suppressed_text(metric: str) -> str:
    """What a suppressed cell reads: which count fell below the minimum.

    Parameters
    ----------
    metric
        ``n`` for a group's size, else a key of
        :data:`secondlook.evaluate.fairness.GROUP_METRICS` (its kind of count decides).
    Returns
    -------
    str
        Which kind of count was small; the table's note (:func:`group_note`) says how small.
    """
    kind = "n" if metric == "n" else GROUP_METRICS.get(metric, "two_by_two")
    small = {
        "n": "the group is small",
        "both_classes": "its warranted or its not-warranted count is small",
    }.get(kind, "a count of flagged or warranted referrals is small")
    return f"suppressed: {small} (see the note)"


def _groupcell(cell: Any, suppressed: str) -> str:
    if not isinstance(cell, dict):
        return suppressed if cell in (None, "suppressed") else str(cell)
    text = fmt_interval(cell.get("value"), cell.get("lo"), cell.get("hi"), share=True, digits=2)
    verdict = _verdict(cell)
    if verdict is not None:
        mark = {
            "inside": ", inside the band",
            "outside": ", OUTSIDE the band",
            "uncertain": ", too uncertain to say",
        }[verdict]
        text += f"; ratio {float(cell['ratio']):.2f}{mark}"
    return text


def group_note(
    attribute: str,
    groups: Mapping[str, Mapping[str, Any]],
    present: Iterable[tuple[str, str, bool]],
    ci: float,
    min_cell: Any = None,
) -> str:
    """The note under a by-group table, built from the same cells the table shows.

    Parameters
    ----------
    attribute
        The attribute the groups are of.
    groups
        ``by_group`` of ``fairness.json``: group -> metric -> cell.
    present
        (metric, column label, is a share) of the columns shown.
    ci
        Interval level.
    min_cell
        The suppression threshold, for the sentence on suppressed cells.

    Returns
    -------
    str
        Names every group whose ratio interval lies wholly outside the parity band, per column
        (so the note can never contradict an "OUTSIDE" cell), and what "suppressed" means.
    """
    outside = []
    for key, label, _ in present:
        names = [
            group_label(attribute, g)
            for g, cells in groups.items()
            if _verdict(cells.get(key)) == "outside"
        ]
        if names:
            outside.append(f"{label}: {', '.join(names)}")
    text = (
        f"Each cell: estimate ({fmt_level(ci)} interval); ratio against the reference group, "
        "and whether the ratio's whole interval lies inside or outside the parity band "
        "(otherwise: too uncertain to say). "
        + (
            f"Groups whose whole interval lies outside the band — {'; '.join(outside)}."
            if outside
            else "No group's interval lies wholly outside the band."
        )
    )
    if any(c == "suppressed" for cells in groups.values() for c in cells.values()):
        below = f"fewer than {min_cell}" if min_cell is not None else "too few"
        text += (
            f" Suppressed: a group's rates are hidden when one of its four counts — warranted "
            f"and flagged, warranted and missed, flagged but not warranted, neither — has "
            f"{below} referrals, all together, because any one rate with the group's size gives "
            f"those counts back; its AUROC when {below} of its referrals warranted escalation, or "
            f"{below} did not; everything when the group has {below} referrals. When only one "
            "group of an attribute is small, the next-smallest is hidden with it, so that the "
            "small count cannot be worked out from the totals."
        )
    return text


def _group_table(
    family: str,
    attribute: str,
    entry: Mapping[str, Any],
    against: str,
    min_cell: Any,
    ci: float,
) -> Table:
    ref = str(entry.get("reference", ""))
    groups = entry.get("by_group", {})
    present = [m for m in _GROUP_METRICS if any(m[0] in g for g in groups.values())]
    rows = []
    for group, cells in groups.items():
        name = group_label(attribute, group)
        row = [f"{name} (reference)" if group == ref else name]
        n = cells.get("n")
        hidden_n = n in (None, "suppressed")
        row.append(suppressed_text("n") if hidden_n else f"{int(n):,}")
        for key, _, share in present:
            c = cells.get(key)
            if not share and isinstance(c, dict):
                txt = fmt_interval(c.get("value"), c.get("lo"), c.get("hi"))
                ratio = c.get("ratio")
                row.append(txt + (f"; ratio {ratio:.2f}" if finite(ratio) else ""))
            else:
                # a hidden size hides every cell of the group, whatever the cell's own counts
                row.append(_groupcell(c, suppressed_text("n" if hidden_n else key)))
        rows.append(tuple(row))
    return Table(
        caption=f"{family_name(family)} by {attribute.replace('_', ' ')}, against {against}",
        columns=("group", "referrals", *(label for _, label, _ in present)),
        rows=tuple(rows),
        note=group_note(attribute, groups, present, ci, min_cell),
    )


def fairness_section(inp: ReportInputs, root: Path | None, candidate: str, ci: float) -> Fairness:
    missing = need([inp.fairness], "dvc repro fairness (the fairness stage)", root)
    if missing:
        return Fairness(missing=missing)
    data = read_json(inp.fairness)
    if not isinstance(data, dict):
        data = {"fairness": data}
    min_cell = data.get("min_cell")
    suppressed = f"suppressed (fewer than {min_cell})" if min_cell else "suppressed"
    intro = texts.FAIRNESS_INTRO.format(
        min_cell=min_cell if min_cell is not None else "the configured number of"
    )
    against = label_name(str(data.get("measured_against", "the headline label")))
    band = data.get("parity_band")
    if isinstance(band, list) and len(band) == 2:
        intro += f" Parity band in this run: {band[0]} to {band[1]}."
    tables: list[Table] = []
    fams = data.get("families", {})
    if isinstance(fams, dict) and fams:
        chosen = candidate if candidate in fams else next(iter(fams))
        for attribute, entry in fams[chosen].items():
            tables.append(_group_table(chosen, attribute, entry, against, min_cell, ci))
        rows = []
        for fam, attrs in fams.items():
            for attribute, entry in attrs.items():
                out = entry.get("groups_outside_band", {})
                rows.append(
                    (
                        family_name(fam),
                        attribute.replace("_", " "),
                        group_label(attribute, entry.get("reference", "")),
                        *(
                            ", ".join(group_label(attribute, g) for g in out.get(m, [])) or "none"
                            for m in ("flag_rate", "tpr", "fpr")
                        ),
                    )
                )
        tables.append(
            Table(
                caption=f"Every family: groups whose ratio's whole interval lies outside the parity band, "
                f"against {against}",
                columns=("model family", "attribute", "reference group", "flagged", "TPR", "FPR"),
                rows=tuple(rows),
                note="Suppressed groups are never listed here as inside or outside the band.",
            )
        )
    findings = [str(v) for v in data.get("proxy_statements", []) or []]
    label_bias: list[Table] = []
    if data.get("label_bias"):
        lb = label_bias_table(list(data["label_bias"]), suppressed)
        label_bias += [lb] if lb is not None else []
    known = {
        "min_cell",
        "measured_against",
        "parity_band",
        "families",
        "proxy_statements",
        "label_bias",
    }
    for key, value in data.items():
        if key not in known:
            tables += json_tables(value, key.replace("_", " "), none_text=suppressed)
    figures = []
    plot_dir = inp.fairness.parent / "fairness" / "plots"
    for png in sorted(plot_dir.glob("*-flag_rate.png")) if plot_dir.is_dir() else []:
        attribute = png.stem.removesuffix("-flag_rate").replace("_", " ")
        figures.append(
            Figure(
                title=f"Share flagged by {attribute}: ratio to the reference group, every family",
                alt=(
                    f"Dot chart of each model family's ratio of the share flagged in each "
                    f"{attribute} group to the reference group's, with the parity band shaded; "
                    "families are told apart by marker shape, and suppressed groups are written "
                    "as 'suppressed' instead of a point. The same ratios are in the tables of "
                    "this section."
                ),
                src=png_file(png),
            )
        )
    return Fairness(
        intro=intro,
        tables=tuple(tables),
        label_bias=tuple(label_bias),
        label_bias_intro=label_bias_intro(list(data.get("label_bias") or [])),
        findings=tuple(findings),
        figures=tuple(figures),
    )


def _importance_alt(csv: Path, family: str, kind: str) -> str:
    top = ""
    if csv.is_file():
        imp = pd.read_csv(csv)
        if imp.shape[1] >= 2:
            imp = imp.sort_values(imp.columns[1], ascending=False, kind="stable").head(5)
            top = "; ".join(
                f"{spec_name(str(r[0]))} ({float(r[1]):.2f})" for r in imp.itertuples(index=False)
            )
    lead = texts.PLOT_KINDS.get(kind, "A figure written by the explain stage")
    return f"{lead}, for {family_name(family)}." + (
        f" The five largest mean absolute contributions: {top}." if top else ""
    )


def spec_name(feature: str) -> str:
    """A feature's plain-language description from the catalogue (its name if unknown)."""
    try:
        return spec(feature).description
    except (KeyError, ValueError):
        return feature


def explanations_section(
    inp: ReportInputs,
    root: Path | None,
    candidate: str,
    families: list[str],
    vignettes: Sequence[str] = (),
) -> Explanations:
    folder = inp.explanations
    missing = need([folder], "dvc repro explain (the explain stage)", root)
    if missing:
        return Explanations(missing=missing)
    figs = []
    glob = folder / "global"
    for fam in [candidate, *[f for f in families if f != candidate]]:
        d = glob / fam
        if not d.is_dir():
            continue
        pngs = ["importance.png"]
        if fam == candidate:
            pngs += ["beeswarm.png", *sorted(p.name for p in d.glob("dependence-*.png"))]
        for name in pngs:
            png = d / name
            if not png.is_file():
                continue
            kind = name.split("-")[0].removesuffix(".png")
            alt = _importance_alt(d / "importance.csv", fam, kind)
            title = f"{family_name(fam)}: {texts.FIGURE_TITLES.get(kind, kind)}"
            if kind == "dependence":
                feature = name.removeprefix("dependence-").removesuffix(".png")
                short = spec_name(feature).split(" (")[0].rstrip(".")
                title = f"{family_name(fam)}: how one input moves the score — {short}"
                alt = (
                    f"{texts.PLOT_KINDS['dependence']}: {spec_name(feature)}, for "
                    f"{family_name(fam)}. Each dot is one referral."
                )
            figs.append(Figure(title=title, alt=alt, src=png_file(png)))
    fidelity: list[Table] = []
    stability: list[Table] = []

    def _json(name: str) -> Any:
        return read_json(folder / name) if (folder / name).is_file() else None

    fidelity += [t for t in (additivity_table(_json("summary.json"), families),) if t]
    fidelity += [t for t in (fidelity_table(_json("fidelity.json"), families),) if t]
    stability += [t for t in (stability_table(_json("stability.json"), families),) if t]
    if inp.patterns is not None and inp.patterns.is_file():
        t = patterns_table(read_json(inp.patterns).get("headline", {}), families)
        fidelity += [t] if t else []
    if inp.policy is not None and inp.policy.is_file():
        t = policy_table(read_json(inp.policy), vignettes)
        fidelity += [t] if t else []
    more = [
        Missing(f"{show_path(folder, root)}/{name}", "dvc repro explain")
        for name in ("fidelity.json", "stability.json")
        if not (folder / name).is_file()
    ]
    if not figs:
        more.append(
            Missing(f"{show_path(glob, root)}/<family>/importance.png", "dvc repro explain")
        )
    return Explanations(
        figures=tuple(figs),
        fidelity=tuple(fidelity),
        stability=tuple(stability),
        fidelity_intro=fidelity_intro(
            read_json(folder / "fidelity.json") if (folder / "fidelity.json").is_file() else {},
            candidate,
        ),
        stability_intro=stability_intro(
            read_json(folder / "stability.json") if (folder / "stability.json").is_file() else {},
            candidate,
        ),
        missing=tuple(more),
    )


def show_path(p: Path, root: Path | None) -> str:
    return str(p.relative_to(root)) if root and p.is_relative_to(root) else str(p)


def _split_of(date: pd.Timestamp, params: Mapping[str, Any]) -> str:
    for name, w in params.get("features", {}).get("split", {}).items():
        if pd.Timestamp(str(w["start"])) <= date <= pd.Timestamp(str(w["end"])):
            return str(name)
    return "no split"


def seed_cases_section(
    inp: ReportInputs,
    params: Mapping[str, Any],
    families: list[str],
    candidate: str,
    root: Path | None,
) -> SeedCases:
    missing = need([inp.summary, inp.decisions, inp.vignettes], "dvc repro generate", root)
    if missing:
        return SeedCases(missing=missing)
    ids = read_json(inp.summary).get("seed_cases", {})
    dec = pd.read_parquet(inp.decisions).set_index("decision_id")
    scores = pd.DataFrame()
    if inp.seed_cases.is_file():
        try:
            scores = pd.read_csv(inp.seed_cases, dtype=str).set_index("decision_id")
        except pd.errors.EmptyDataError:
            scores = pd.DataFrame()
    cases = []
    for name in sorted(ids):
        vfile = inp.vignettes / f"{name}.yaml"
        v = yaml.safe_load(vfile.read_text(encoding="utf-8")) if vfile.is_file() else {}
        decisions = []
        for did in sorted(
            ids[name],
            key=lambda d: (
                (dec.loc[d, "decision_date"], d) if d in dec.index else (pd.Timestamp.max, d)
            ),
        ):
            if did in dec.index:
                date = pd.Timestamp(dec.loc[did, "decision_date"])
                practice = texts.OUTCOMES.get(str(dec.loc[did, "practice_outcome"]), "unknown")
                split = _split_of(date, params)
                date_text = date.date().isoformat()
            else:
                practice, split, date_text = "not in the decisions table", "no split", ""
            if did in scores.index:
                row = scores.loc[did]
                split = str(row.get("split", split))
                flagged = [f for f in families if str(row.get(f"{f}_flag", "")) == "True"]
                models = "flagged by " + ", ".join(flagged) if flagged else "flagged by no family"
                if candidate and f"{candidate}_score" in row.index:
                    models += f"; {candidate} score {float(row[f'{candidate}_score']):.2f}"
            else:
                models = "not scored by the evaluate stage; see the review pack"
            window = texts.SPLITS.get(split, split)
            decisions.append(
                SeedDecision(
                    decision_id=did,
                    date=date_text,
                    practice=practice,
                    window=window,
                    models=models,
                    href=f"case-reviews/{did}.html",
                    has_pack=(inp.case_reviews / f"{did}.html").is_file(),
                )
            )
        cases.append(
            SeedCase(
                name=name,
                title=str(v.get("title", name)),
                story=" ".join(str(v.get("story", "")).split()),
                decisions=tuple(decisions),
            )
        )
    packs = [d for c in cases for d in c.decisions]
    more: tuple[Missing, ...] = ()
    if packs and not any(d.has_pack for d in packs):
        more = need([inp.case_reviews], "dvc repro explain (case review packs)", root)
        if not more:
            more = (
                Missing(
                    show_path(inp.case_reviews, root) + "/<decision_id>.html", "dvc repro explain"
                ),
            )
    return SeedCases(cases=tuple(cases), missing=more)


def reproducibility_section(
    inp: ReportInputs,
    params: Mapping[str, Any],
    families: list[str],
    commit: str,
    runs: Mapping[str, Any] | None,
    root: Path | None,
) -> Reproducibility:
    missing: list[Missing] = []
    stages = None
    if inp.dvc_lock.is_file():
        stages = Table(
            caption="The pipeline outputs this report was built from, and their hashes (dvc.lock)",
            columns=("stage", "output", "md5"),
            rows=tuple(upstream_outputs(inp.dvc_lock)),
        )
    else:
        missing += need([inp.dvc_lock], "dvc repro", root)
    run_table = None
    source = ""
    if inp.runs is not None and inp.runs.is_file():
        runs, source = read_json(inp.runs), show_path(inp.runs, root)
    elif runs is not None:
        source = str(runs.get("source", "the MLflow tracking store"))
    if runs:
        rrows = []
        if runs.get("parent_run_id"):
            rrows.append(("pipeline (parent run)", str(runs["parent_run_id"]), ""))
        for fam, rid in sorted((runs.get("runs") or {}).items()):
            ver = (runs.get("versions") or {}).get(fam, "")
            rrows.append((fam, str(rid), f"secondlook-{fam} version {ver}" if ver else ""))
        run_table = Table(
            caption=f"MLflow run ids (read from {source})",
            columns=("run", "run id", "registered model"),
            rows=tuple(rrows),
        )
    else:
        missing.append(
            Missing(
                "MLflow run ids",
                "secondlook evaluate with tracking on (the report looks them up by the test "
                "data hash)",
            )
        )
    versions: dict[str, str] = {}
    for f in families:
        meta = inp.models / f / "metadata.json"
        if meta.is_file():
            for k, v in (read_json(meta).get("versions") or {}).items():
                versions.setdefault(str(k), str(v))
    packages = Table(
        caption="Package versions the models were fitted with (from each model's metadata)",
        columns=("package", "version"),
        rows=tuple(sorted(versions.items())),
    )
    ptable = Table(
        caption="Every setting of this run (params.yaml, flattened)",
        columns=("setting", "value"),
        rows=tuple(flatten(params)),
    )
    return Reproducibility(
        commit=commit or "unknown (not run inside a git checkout)",
        commands=texts.COMMANDS,
        stages=stages,
        runs=run_table,
        packages=packages,
        params=ptable,
        missing=tuple(missing),
    )
