"""Time the project's feature builder against the DuckDB SQL oracle on a large world.

Usage::

    .venv/bin/python benchmarks/bench_features.py [--households 25000] [--repeat 3]

Builds a seeded random world (``tests/features/feature_worlds.py``) with at least a million
events, checks that both implementations agree exactly, and prints the best-of-``repeat``
wall time of each and the ratio project / DuckDB (target: <= 1.0). DuckDB uses all cores; the
project's builder is single-threaded numpy.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd

from secondlook.features import build_features

HERE = Path(__file__).resolve().parent


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _best(fn: Callable[[], pd.DataFrame], repeat: int) -> tuple[float, pd.DataFrame]:
    times, out = [], pd.DataFrame()
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> float:
    """Run the benchmark and return the ratio project / DuckDB."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=25_000)
    parser.add_argument("--events-per-household", type=float, default=40.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    worlds = _load(HERE.parent / "tests" / "features" / "feature_worlds.py", "feature_worlds")
    oracle = _load(HERE / "duckdb_features.py", "duckdb_features")
    t0 = time.perf_counter()
    w = worlds.random_world(
        args.seed, n_households=args.households, events_per_household=args.events_per_household
    )
    print(
        f"world: {len(w['households']):,} households, {len(w['people']):,} people, "
        f"{len(w['events']):,} events, {len(w['decisions']):,} decisions "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    if len(w["events"]) < 1_000_000:
        print("warning: fewer than a million events; raise --households")

    hh, people, events, decisions = w["households"], w["people"], w["events"], w["decisions"]
    ours_s, ours = _best(lambda: build_features(hh, people, events, decisions), args.repeat)
    duck_s, duck = _best(lambda: oracle.duckdb_features(hh, people, events, decisions), args.repeat)
    mismatched = [c for c in ours.columns if not (ours[c].to_numpy() == duck[c].to_numpy()).all()]
    if mismatched:
        raise SystemExit(f"the implementations disagree on {mismatched}")
    ratio = ours_s / duck_s
    print(f"secondlook.features.build_features: {ours_s:.3f} s (best of {args.repeat})")
    print(f"DuckDB SQL oracle:                  {duck_s:.3f} s (best of {args.repeat})")
    print(f"ratio project / DuckDB: {ratio:.2f} (target <= 1.0); outputs agree exactly")
    return ratio


if __name__ == "__main__":
    main()
