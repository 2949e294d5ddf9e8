"""The commands that run many worlds or settings: a named study and a simulation sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from secondlook.cli.common import ParamsOpt, err, params_file, user_errors
from secondlook.errors import OptionError
from secondlook.params import load_params

__all__ = ["policy_check", "study", "sweep"]


@user_errors
def study(
    name: Annotated[str, typer.Argument(help="Study name: experiments/studies/<name>.yaml.")],
    studies: Annotated[Path, typer.Option(help="Folder of study files.")] = Path(
        "experiments/studies"
    ),
    queue: Annotated[
        bool, typer.Option(help="Queue it (`dvc exp run --run-all` runs it).")
    ] = False,
    temp: Annotated[bool, typer.Option(help="Run it in a temporary copy of the repo.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the dvc command, run nothing.")] = False,
    stage: Annotated[
        list[str] | None,
        typer.Option(help="Reproduce only this stage and its dependencies (repeatable)."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Run a named study as a DVC experiment (`dvc exp run -n NAME -S ... [STAGE...]`)."""
    from secondlook.studies import run_study

    code = run_study(
        name,
        studies,
        load_params(params_file(params)),
        queue=queue,
        temp=temp,
        dry_run=dry_run,
        targets=tuple(stage or ()),
        log=err.print,
    )
    if code:
        raise typer.Exit(code=code)


@user_errors
def sweep(
    design: Annotated[Path, typer.Argument(help="A design file: experiments/designs/<name>.yaml.")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default reports/sweep/<design>).")
    ] = None,
    cache: Annotated[
        Path, typer.Option(help="Folder of finished worlds; a rerun resumes from it.")
    ] = Path(".sweep-cache"),
    vignettes: Annotated[
        Path | None, typer.Option(help="Seed-case folder (placed in every world).")
    ] = Path("data/vignettes"),
    engine: Annotated[str, typer.Option(help="dask (default) or pandas (this process).")] = "dask",
    scheduler: Annotated[
        str | None,
        typer.Option(help="tcp://host:port of a dask scheduler (default: LocalCluster)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="LocalCluster worker processes.")] = 2,
    memory_limit: Annotated[
        str | None, typer.Option(help="LocalCluster memory limit per worker, e.g. 3GB.")
    ] = None,
    seeds: Annotated[int | None, typer.Option(help="Override the design's seed count.")] = None,
    households: Annotated[
        int | None, typer.Option(help="Override the design's world size.")
    ] = None,
    track: Annotated[
        bool, typer.Option(help="Log a parent run and a run per world to MLflow.")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Run a simulation study over many worlds (scenarios x seeds) and say what holds in all."""
    from secondlook.sweep import run_sweep

    if engine not in ("dask", "pandas"):
        raise OptionError(f"--engine must be dask or pandas, got {engine!r}")
    run_sweep(
        design,
        load_params(params),
        out or Path("reports/sweep") / design.stem,
        cache=cache,
        vignettes=vignettes,
        engine=engine,  # type: ignore[arg-type]
        scheduler=scheduler,
        n_workers=workers,
        memory_limit=memory_limit,
        seeds=seeds,
        n_households=households,
        progress=progress,
        mlflow=track,
        log=err.print,
    )


@user_errors
def policy_check(
    revs: Annotated[
        list[str],
        typer.Argument(help="Git revisions of pipeline runs, e.g. the studies' experiments."),
    ],
    policy: Annotated[Path, typer.Option(help="The policy stage's table.")] = Path(
        "reports/policy.json"
    ),
) -> None:
    """Compare the policy stage's table with pipeline runs (the studies' DVC experiments).

    For each revision (``HEAD``, ``refs/exps/...`` or an experiment's commit), its params say
    which setting it ran; its metrics, patterns, explanation summary, fidelity and seed-case
    files give the same figures; the largest difference per setting and column is printed.
    """
    import io
    import json
    import subprocess

    import pandas as pd

    from secondlook.evaluate.policy import compare_with_runs, pipeline_rows, setting_of

    def show(rev: str, path: str) -> str:
        done = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
        if done.returncode:
            raise OptionError(f"{rev}: {path} not found ({done.stderr.strip()})")
        return done.stdout

    runs = []
    for rev in revs:
        params = load_params_text(show(rev, "params.yaml"))
        setting = setting_of(params["train"]["policy"], params["features"]["practice_features"])
        files = [
            json.loads(show(rev, p))
            for p in (
                "reports/metrics.json",
                "reports/patterns.json",
                "reports/explanations/summary.json",
                "reports/explanations/fidelity.json",
            )
        ]
        seeds = pd.read_csv(io.StringIO(show(rev, "reports/seed-cases.csv")))
        runs.append(pipeline_rows(*files, setting=setting, seed_cases=seeds))
        err.print(f"{rev}: setting {setting}")
    if not policy.is_file():
        raise OptionError(f"{policy} not found; run `dvc repro policy` first")
    table = pd.DataFrame(json.loads(policy.read_text()))
    diff = compare_with_runs(table, pd.concat(runs, ignore_index=True))
    print(diff.to_string(index=False))


def load_params_text(text: str) -> dict[str, Any]:
    """A params.yaml's content as a mapping (the sections a study may set)."""
    import yaml

    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise OptionError("params.yaml of that revision is not a mapping")
    return data
