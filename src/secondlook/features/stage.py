"""The ``featurize`` stage: raw tables -> the train/valid/test feature tables and the catalogue.

:func:`assemble` is the pure core (tables and settings in, split tables out); :func:`run_featurize`
is the thin edge that reads ``data/raw`` and writes ``features/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from secondlook.errors import InputError, MissingInputError
from secondlook.features.build import build_features
from secondlook.features.catalogue import render_markdown
from secondlook.params import FeaturesParams, ParamsError, SynthParams
from secondlook.schema import LABELS, validate_tables

__all__ = [
    "GROUP_COLUMNS",
    "SPLITS",
    "assemble",
    "read_splits",
    "read_tables",
    "restrict_to_view",
    "run_featurize",
]

SPLITS = ("train", "valid", "test")
#: the group attributes every split table carries (never model inputs)
GROUP_COLUMNS = (
    "group_ethnicity",
    "group_deprivation_quintile",
    "group_sex",
    "group_disability",
    "group_local_authority",
)
_RAW = ("households", "people", "events", "decisions", "truth")


def _attach(features: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Add ``practice_outcome``, the ``label_`` columns and the ``group_`` columns."""
    decisions = tables["decisions"].set_index("decision_id")
    truth = tables["truth"].set_index("decision_id")
    people = tables["people"].set_index("person_id")
    households = tables["households"].set_index("household_id")
    ids = features["decision_id"]
    missing = ~ids.isin(truth.index)
    if missing.any():
        raise InputError(f"truth: no row for decision(s) {ids[missing].head(5).tolist()}")
    extra = {"practice_outcome": decisions.loc[ids, "practice_outcome"].to_numpy()}
    for label in LABELS:
        # an imported cohort has no ground truth: only the labels its source can observe
        if label in truth.columns:
            extra[f"label_{label}"] = truth.loc[ids, label].to_numpy(dtype=bool)
    person = people.loc[features["person_id"]]
    household = households.loc[features["household_id"]]
    decile_col = household["deprivation_decile"]
    extra["group_ethnicity"] = person["ethnicity"].to_numpy()
    if decile_col.isna().any():  # an imported cohort with no address: missing, never made up
        extra["group_deprivation_quintile"] = ((decile_col.astype("Int64") + 1) // 2).to_numpy()
    else:
        extra["group_deprivation_quintile"] = (decile_col.to_numpy(dtype=np.int64) + 1) // 2
    extra["group_sex"] = person["sex"].to_numpy()
    extra["group_disability"] = (
        person["disability"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    )
    extra["group_local_authority"] = household["local_authority"].to_numpy()
    return pd.concat([features, pd.DataFrame(extra, index=features.index)], axis=1)


def assemble(
    tables: Mapping[str, pd.DataFrame], settings: FeaturesParams
) -> dict[str, pd.DataFrame]:
    """Featurize every decision and split the rows by decision date.

    Parameters
    ----------
    tables
        ``households``, ``people``, ``events``, ``decisions`` and ``truth``.
    settings
        The ``features`` section; its ``split`` windows are inclusive date ranges.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``train``, ``valid``, ``test``: the identifiers, the features, ``practice_outcome``,
        every ``label_<label>`` and the ``group_`` columns, one row per decision in the window,
        sorted by decision date then decision id. Decisions outside every window are dropped.
    """
    features = build_features(
        tables["households"], tables["people"], tables["events"], tables["decisions"]
    )
    full = _attach(features, tables)
    full = full.sort_values(["decision_date", "decision_id"], kind="stable")
    full = restrict_to_view(full, getattr(settings, "view", "multi_agency"))
    out = {}
    for name, window in settings.split.windows().items():
        in_window = (full["decision_date"] >= pd.Timestamp(window.start)) & (
            full["decision_date"] <= pd.Timestamp(window.end)
        )
        out[name] = full[in_window].reset_index(drop=True)
        out[name].attrs["view"] = full.attrs["view"]
    return out


def restrict_to_view(frame: pd.DataFrame, view: str) -> pd.DataFrame:
    """Drop the catalogue features ``view`` cannot compute: absent from the table, never 0.

    Parameters
    ----------
    frame
        A feature table (identifiers, features, labels, group columns).
    view
        One of :data:`secondlook.features.views.VIEWS`.

    Returns
    -------
    pandas.DataFrame
        A copy without the features outside the view; ``attrs["view"]`` names the view (it is
        kept in the parquet file, and training stores it in the model).
    """
    from secondlook.features.catalogue import feature_names
    from secondlook.features.views import view_features

    keep = set(view_features(view))
    out = frame.drop(columns=[c for c in feature_names() if c in frame.columns and c not in keep])
    out.attrs["view"] = view
    return out


def _read_parquets(folder: Path, names: tuple[str, ...], hint: str) -> dict[str, pd.DataFrame]:
    """Read ``folder/<name>.parquet`` for each name; ``hint`` follows a missing file's path."""
    tables = {}
    for name in names:
        path = Path(folder) / f"{name}.parquet"
        if not path.is_file():
            raise MissingInputError(f"{path} not found{hint}")
        tables[name] = pd.read_parquet(path)
    return tables


def read_splits(features_dir: Path) -> dict[str, pd.DataFrame]:
    """Read the split feature tables ``features_dir/{train,valid,test}.parquet``.

    Raises
    ------
    MissingInputError
        Naming the first missing table and the stage that writes it.
    """
    return _read_parquets(features_dir, SPLITS, "; run `dvc repro featurize` first")


def read_tables(raw_dir: Path, names: tuple[str, ...] = _RAW) -> dict[str, pd.DataFrame]:
    """Read the canonical tables from ``raw_dir/<name>.parquet``.

    Raises
    ------
    MissingInputError
        Naming the first missing file and the command that writes it.
    """
    return _read_parquets(raw_dir, names, " (run `secondlook generate` first)")


def run_featurize(
    settings: FeaturesParams,
    raw_dir: Path,
    out_dir: Path,
    *,
    synth: SynthParams | None = None,
    log: Callable[[str], object] = print,
) -> dict[str, pd.DataFrame]:
    """Read the raw tables, build the split feature tables and write them with the catalogue.

    Parameters
    ----------
    settings
        The ``features`` section.
    raw_dir
        Folder holding ``households``, ``people``, ``events``, ``decisions`` and ``truth``
        parquet files.
    out_dir
        Folder receiving ``train.parquet``, ``valid.parquet``, ``test.parquet`` and
        ``catalogue.md``.
    synth
        The ``synth`` section; when given, the windows are checked to leave
        ``follow_up_months`` before the world's end and the tables are validated against the
        world's dates.
    log
        Progress messages.

    Returns
    -------
    dict of str to pandas.DataFrame
        The split tables that were written.

    Raises
    ------
    ParamsError
        If a split window does not fit the world.
    MissingInputError, TableError
        If an input table is missing or breaks the schema.
    """
    window = None
    if synth is not None:
        problems = settings.check_world(synth)
        if problems:
            key, message = problems[0]
            raise ParamsError(f"params: `features.{key}` {message}")
        window = (synth.history_start, synth.end)
    tables = read_tables(Path(raw_dir))
    if "warrants_escalation" in tables["truth"].columns:
        validate_tables(tables, window=window)
    else:  # an imported cohort: its labels table holds the observable labels only
        validate_tables({k: v for k, v in tables.items() if k != "truth"}, window=window)
    splits = assemble(tables, settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        splits[name].to_parquet(out_dir / f"{name}.parquet", index=False)
        log(f"featurize: {name}: {len(splits[name])} decisions -> {out_dir / name}.parquet")
    dropped = len(tables["decisions"]) - sum(len(t) for t in splits.values())
    log(f"featurize: {dropped} decisions fall outside every split window")
    (out_dir / "catalogue.md").write_text(render_markdown())
    return splits
