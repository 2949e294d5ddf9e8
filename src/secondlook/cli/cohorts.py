"""The commands on a cohort: score it, observe its labels, import and export real formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secondlook.cli.common import (
    CohortArg,
    NewCohortOpt,
    ParamsOpt,
    day,
    err,
    params_file,
    section,
    separator,
    terminate_cleanly,
    user_errors,
)
from secondlook.errors import OptionError
from secondlook.params import load_params, load_section

__all__ = ["score", "observe", "import_cin_census", "import_annex_a", "export_cin_census"]


@user_errors
def score(
    cohort: Annotated[
        Path, typer.Argument(help="Folder with households, people, events (.parquet or .csv).")
    ],
    model: Annotated[
        str, typer.Option(help="A model folder (models/<family>) or models:/<name>@<alias>.")
    ],
    out: Annotated[Path, typer.Option(help="Output parquet file (a manifest goes beside it).")],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First referral date scored (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last referral date scored (YYYY-MM-DD).")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="pandas | dask (default: score.engine in params).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="dask scheduler address (tcp://host:8786); default a LocalCluster."),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest path (default <out>.manifest.json).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The cohort's extract date (YYYY-MM-DD, default today): later referrals are "
            "rejected, later history events refuse the cohort.",
        ),
    ] = None,
    sep: Annotated[
        str | None,
        typer.Option("--sep", help="CSV separator (default: found from each header line)."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Score every referral of an anonymised cohort: a score, a flag and reasons, or a rejection."""
    from secondlook.score import run_score

    near = None if model.startswith("models:/") else Path(model).resolve()
    values = load_params(params_file(params, near=near))
    settings = load_section("score", values)
    reference = load_section("explain", values).reference
    if engine not in (None, "pandas", "dask"):
        raise OptionError(f"--engine must be pandas or dask, got {engine!r}")
    if scheduler and (engine or settings.engine) != "dask":
        raise OptionError("--scheduler needs --engine dask")
    with terminate_cleanly():
        run_score(
            cohort,
            model,
            out,
            settings,
            start=day(date_from, "--from"),
            end=day(date_to, "--to"),
            engine=engine,  # type: ignore[arg-type]
            scheduler=scheduler,
            manifest=manifest,
            as_of=day(as_of, "--as-of"),
            delimiter=separator(sep),
            reference=reference,
            progress=err.is_terminal,
            log=err.print,
        )


@user_errors
def observe(
    cohort: CohortArg,
    out: Annotated[Path, typer.Option(help="Folder for decisions.parquet and labels.parquet.")],
    end: Annotated[str, typer.Option(help="The cohort's last day (extraction date, YYYY-MM-DD).")],
    decisions_from: Annotated[
        str | None, typer.Option("--from", help="Earlier referrals are history only.")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """A cohort with no ground truth: its referrals as decisions and the labels it can observe."""
    from secondlook.ingest.stage import run_observe

    follow_up = section(params, "synth").follow_up_months
    run_observe(
        cohort,
        out,
        end=day(end, "--end"),
        follow_up_months=follow_up,
        decisions_from=day(decisions_from, "--from"),
        log=err.print,
    )


@user_errors
def import_cin_census(
    files: Annotated[list[Path], typer.Argument(help="CIN census XML returns (any years, LAs).")],
    out: NewCohortOpt,
    households: Annotated[
        Path | None,
        typer.Option(help="CSV LAchildID,family_id[,LEA]: children of a family share a household."),
    ] = None,
) -> None:
    """Import CIN census returns (streamed) into a canonical cohort folder, all or nothing."""
    from secondlook.ingest.stage import run_import_census

    run_import_census(files, out, households=households, log=err.print)


@user_errors
def import_annex_a(
    workbook: Annotated[Path, typer.Argument(help="Ofsted Annex A workbook (.xlsx).")],
    out: NewCohortOpt,
    mappings: Annotated[
        Path | None, typer.Option(help="YAML file extending the label mapping tables.")
    ] = None,
    la: Annotated[str, typer.Option(help="The authority's 3-digit LEA code.")] = "000",
) -> None:
    """Import Annex A lists 1, 3, 4, 5, 6, 7 into a canonical cohort folder, all or nothing."""
    from secondlook.ingest.stage import run_import_annex_a

    run_import_annex_a(workbook, out, mappings=mappings, lea=la, log=err.print)


@user_errors
def export_cin_census(
    cohort: CohortArg,
    year: Annotated[int, typer.Option(help="Collection year (the year to 31 March), 2017-2026.")],
    out: Annotated[Path, typer.Option(help="XML file (one per LA: <stem>_<LEA>.xml).")],
    households_out: Annotated[
        Path | None, typer.Option(help="Also write the LAchildID -> family id CSV.")
    ] = None,
) -> None:
    """Write a cohort as a CIN census return of one year (what the census can hold)."""
    from secondlook.ingest.stage import run_export_census

    run_export_census(cohort, year, out, households_out=households_out, log=err.print)
