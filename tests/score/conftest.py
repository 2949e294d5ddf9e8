"""Fixtures for batch scoring: a small unlabelled cohort on disk and a model trained on a tiny
labelled world (the tests may use the generator; the score package may not)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secondlook.params import ScoreParams, SynthParams, load_params, load_section
from secondlook.schema import COHORT_TABLES

REPO = Path(__file__).resolve().parents[2]


def score_cli(cohort: Path, model: Path | str, out: Path, *options: str) -> tuple[int, str]:
    """`secondlook score` through the command line: (exit code, stdout and stderr together)."""
    from typer.testing import CliRunner

    from secondlook.cli import app

    args = ["score", str(cohort), "--model", str(model), "--out", str(out), *options]
    result = CliRunner().invoke(app, [*args, "--params", str(REPO / "params.yaml")])
    return result.exit_code, result.output


def score_params(**changes: Any) -> ScoreParams:
    """params.yaml's score section with small chunks (several chunks in a small cohort)."""
    base = load_section("score", load_params(REPO / "params.yaml"))
    return dataclasses.replace(base, **{"chunk_households": 60, "batch_rows": 2000, **changes})


@pytest.fixture(scope="session")
def cohort_tables(synth_params: SynthParams) -> dict[str, pd.DataFrame]:
    """An unlabelled cohort of about 300 households (do not mutate: copy first)."""
    from secondlook.synth import build_cohort

    tables = build_cohort(synth_params, n_households=300)
    return {name: tables[name] for name in COHORT_TABLES}


def write_cohort(tables: dict[str, pd.DataFrame], folder: Path, fmt: str = "parquet") -> Path:
    """Write cohort tables as ``<name>.parquet`` (or ``.csv``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            out = df.copy()
            for column in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[column]):
                    out[column] = out[column].dt.strftime("%Y-%m-%d")
            out.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture
def cohort_dir(cohort_tables: dict[str, pd.DataFrame], tmp_path: Path) -> Path:
    """A fresh copy of the cohort on disk, as parquet."""
    return write_cohort(cohort_tables, tmp_path / "cohort")


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, synth_params: SynthParams) -> Path:
    """A logreg model folder trained on a tiny labelled world (models/<family> layout)."""
    from secondlook.features.stage import assemble
    from secondlook.models import save_model, select_inputs, train_family
    from secondlook.synth import build_world

    data = load_params(REPO / "params.yaml")
    _, tables = build_world(synth_params, n_households=1500)
    splits = assemble(tables, load_section("features", data))
    inputs = select_inputs(list(splits["train"].columns), False)
    model, meta = train_family(
        "logreg", load_section("train", data), splits["train"], splits["valid"], inputs
    )
    folder = tmp_path_factory.mktemp("models") / "logreg"
    save_model(model, folder, meta)
    return folder


@pytest.fixture
def model_dir(trained: Path, tmp_path: Path) -> Path:
    """A fresh copy of the trained model folder (tests may damage it)."""
    return Path(shutil.copytree(trained, tmp_path / "models" / "logreg"))
