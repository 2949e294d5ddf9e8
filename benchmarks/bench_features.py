"""Time the project's feature builder against the fastest DuckDB formulation of the same table.

Usage (from the project's top folder)::

    .venv/bin/python benchmarks/bench_features.py [--households 25000 100000] [--repeat 5]
        [--yardstick ../shared/benchmarks]

Builds the seeded random world of ``tests/features/feature_worlds.py`` (seed 2024, 40 events
per household; 25,000 households hold about a million events), checks that every
implementation gives exactly the builder's table, then times them alternately (a warm-up, then
``repeat`` rounds, the order reversed every other round; every timed output is checked again)
and prints, per implementation, the median wall time, the median CPU time of this process (all
threads), the median peak RSS of the process during a call and how much that is above its RSS
when the call started (both sampled every 20 ms, the same way for every implementation), the
machine's load, and the ratios of the medians:

* the baseline is ``duckdb_fast.py``, this project's fast DuckDB formulation (one range join
  per key, counters packed into 128-bit words and masked per window, pairs pruned in the join
  conditions; DuckDB on its default threads, all cores): ``build_features / duckdb_fast``
  (target <= 1.0);
* when the issue's shared benchmarks folder is present (``--yardstick``; it is not part of the
  project and absent from a clean clone), its ``duck_features.py`` -- the DuckDB formulation
  the issue set as the yardstick -- is timed as an extra column, with ``build_features /
  yardstick`` and ``duckdb_fast / yardstick`` (<= 1.0: the project's formulation is at least as
  fast as the yardstick).

The builder runs on its default threads too (the cores this process may use). Timings on a
shared machine are noisy: read the ratios of one run, taken round by round on the same load.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd
import psutil

from secondlook.features import build_features

HERE = Path(__file__).resolve().parent
Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(fn: Callable[[], pd.DataFrame]) -> tuple[float, float, int, int, pd.DataFrame]:
    """Wall seconds, CPU seconds, the process's peak RSS during the call and that peak above
    the RSS at its start (bytes, sampled every 20 ms; the same for every implementation), and
    the result."""
    me = psutil.Process()
    start = me.memory_info().rss
    peak = [start]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], me.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    gc.collect()
    sampler.start()
    c0, t0 = _cpu(), time.perf_counter()
    out = fn()
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    stop.set()
    sampler.join()
    top = max(peak[0], me.memory_info().rss)
    return wall, cpu, top, top - start, out


def identical(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Columns that differ (all of them when names, order or lengths differ)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return list(a.columns)
    return [c for c in a.columns if not (a[c].to_numpy() == b[c].to_numpy()).all()]


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench(tables: Tables, baselines: dict[str, Callable[..., pd.DataFrame]], repeat: int) -> None:
    """Time the builder and the baselines on one world and print one line each."""
    impls: dict[str, Callable[[], pd.DataFrame]] = {
        "build_features": lambda: build_features(*tables)
    }
    impls.update({name: (lambda f=f: f(*tables)) for name, f in baselines.items()})
    reference = impls["build_features"]()
    for name, fn in impls.items():  # the warm-up, and the identity check
        bad = identical(reference, fn())
        if bad:
            raise SystemExit(f"{name} disagrees with build_features on {bad[:10]}")
    walls: dict[str, list[float]] = {k: [] for k in impls}
    cpus: dict[str, list[float]] = {k: [] for k in impls}
    peaks: dict[str, list[int]] = {k: [] for k in impls}
    added: dict[str, list[int]] = {k: [] for k in impls}
    loads = [load_avg()]
    for r in range(repeat):
        for name in list(impls) if r % 2 == 0 else list(impls)[::-1]:
            wall, cpu, peak, above, out = _run(impls[name])
            if identical(reference, out):  # every timed run is checked, not only the first
                raise SystemExit(f"{name} disagreed with build_features in round {r}")
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name].append(peak)
            added[name].append(above)
            del out
        loads.append(load_avg())
    med = {k: statistics.median(v) for k, v in walls.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpus.items()}
    for name in impls:
        print(
            f"  {name:<16} median {med[name]:6.2f} s (min {min(walls[name]):.2f}), "
            f"CPU {cpu_med[name]:6.2f} s, peak RSS "
            f"{statistics.median(peaks[name]) / 2**20:,.0f} MiB "
            f"(+{statistics.median(added[name]) / 2**20:,.0f} above its start)"
        )
    pairs = [("build_features", "duckdb_fast")]
    if "yardstick" in impls:
        pairs += [("build_features", "yardstick"), ("duckdb_fast", "yardstick")]
    for a, b in pairs:
        print(
            f"  ratio {a} / {b}: {med[a] / med[b]:.2f} wall (medians), {cpu_med[a] / cpu_med[b]:.2f} CPU"
        )
    print(
        f"  outputs identical on every run; load averages (1/5/15 min) per round: {' | '.join(loads)}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark for each world size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, nargs="+", default=[25_000])
    parser.add_argument("--events-per-household", type=float, default=40.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--yardstick",
        type=Path,
        default=Path("../shared/benchmarks"),
        help="folder holding the issue's yardstick duck_features.py, timed as an extra column "
        "(default: ../shared/benchmarks from the project's top folder; skipped when absent)",
    )
    args = parser.parse_args(argv)

    worlds = _load(HERE.parent / "tests" / "features" / "feature_worlds.py", "feature_worlds")
    fast = _load(HERE / "duckdb_fast.py", "duckdb_fast")
    baselines: dict[str, Callable[..., pd.DataFrame]] = {"duckdb_fast": fast.duckdb_features}
    if (args.yardstick / "duck_features.py").is_file():
        yardstick = _load(args.yardstick / "duck_features.py", "duck_features")
        baselines["yardstick"] = yardstick.duck_features
    else:
        print(f"no yardstick at {args.yardstick}: baseline duckdb_fast only")
    print(f"cores: {len(os.sched_getaffinity(0))}; load average at start: {load_avg()}")
    for households in args.households:
        t0 = time.perf_counter()
        w = worlds.random_world(
            args.seed, n_households=households, events_per_household=args.events_per_household
        )
        tables = (w["households"], w["people"], w["events"], w["decisions"])
        print(
            f"{households:,} households, {len(w['people']):,} people, {len(w['events']):,} "
            f"events, {len(w['decisions']):,} decisions (world built in "
            f"{time.perf_counter() - t0:.0f} s), median of {args.repeat}:",
            flush=True,
        )
        bench(tables, baselines, args.repeat)
        del w, tables


if __name__ == "__main__":
    main()
