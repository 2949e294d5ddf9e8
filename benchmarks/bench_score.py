"""Time ``secondlook score`` end to end on cohorts of 10k to 10M referrals.

Usage::

    .venv/bin/python benchmarks/bench_score.py --model models/logreg [--sizes 10000 100000 1000000]
        [--engine pandas [dask]] [--cache warm|cold] [--repeat N] [--work /tmp/score-bench]

A base cohort is simulated once (``secondlook.synth.build_cohort``) and tiled -- every id gets a
copy suffix -- until it holds the requested number of referrals, then written as parquet. Each
size is scored in a fresh subprocess (features, scores, reasons, output and manifest) and the
script prints referrals/s, the CPU seconds of the child and its worker processes (the wall time
depends on what else runs on the machine, the CPU time much less), the peak RSS of the child's
whole process tree (sampled every 50 ms, worker processes included), and the ratio of the
end-to-end time to bare ``predict_proba`` on prebuilt features for the same number of rows (the
named baseline). Before each run a fixed single-core task is timed (``ref s``): this
machine's speed varies by itself (the same code scored a million referrals in 51.0 s and,
half an hour later, 29.6 s), and the reference task tells runs made at different speeds apart.
``iowait s`` is the time the machine's cores spent waiting on the disk during the run (summed
over the cores, the whole machine): where the page cache cannot hold the cohort and the spill
files together (ten million referrals are 3.6 GB of parquet), part of the wall time is the
disk's, not the code's. Each run starts with the cohort read once, so that it starts in the
page cache where it fits, as a million referrals always do (the first run at 10M otherwise
reads it from the disk, the second finds it cached); ``--cache cold`` drops it from the page
cache instead, so that every run reads it from the disk. Peak RSS is printed in MiB (2 GB = 1,907
MiB).
With ``--engine pandas dask`` each size is scored by both engines (dask: a 2-worker
LocalCluster on 127.0.0.1) and their outputs are compared byte for byte. The tiled cohort is
written copy by copy, so ten million referrals (some 200 million events) never sit in memory.
With ``--repeat N`` every size and engine is scored N times, the sizes interleaved (1M, 10M,
1M, 10M, ...) so that both sizes' readings sample the same spells of the machine's speed, and
a summary gives each one's median (with its range), the engines' ratio and each size's ratio
to the size before it (of the medians, and run by run); every output of a size must be
byte-identical, across repeats as across engines. On this machine one code's time at a million
referrals has varied by 30% within an hour (27.7 to 36.5 s), so a single reading cannot tell a
ratio of 10.5 from one of 9.
Targets (issue 17): 1M referrals in <= 40 s and 10M in <= 8 minutes on 2 cores (10M / 1M <=
10.5), peak RSS <= 2 GB summed over the process tree, dask within 1.2x of pandas.
Without ``--model`` a logreg model is trained on a small labelled world first.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from secondlook.features import build_features
from secondlook.fileio import file_sha256
from secondlook.models import load_model
from secondlook.params import load_params, load_section
from secondlook.score import manifest_path

ROOT = Path(__file__).resolve().parents[1]


ID_COLUMNS = {
    "households": ["household_id"],
    "people": ["person_id", "household_id"],
    "events": ["event_id", "household_id", "person_id", "related_person_id"],
}


def tile_copy(df: pd.DataFrame, name: str, i: int) -> pd.DataFrame:
    """Copy ``i`` of a cohort table (every id suffixed ``-c<i>``)."""
    part = df.copy()
    for column in ID_COLUMNS[name]:
        part[column] = part[column] + f"-c{i}"
    return part


def tile(base: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """``copies`` disjoint copies of a cohort (ids suffixed ``-c<i>``), in memory."""
    return {
        name: pd.concat([tile_copy(df, name, i) for i in range(copies)], ignore_index=True)
        for name, df in base.items()
    }


def make_cohort(folder: Path, base: dict[str, pd.DataFrame], referrals: int) -> int:
    """Write a tiled cohort with at least ``referrals`` referrals; return the exact count.

    Written copy by copy (one row group each), so that ten million referrals -- some two
    hundred million events -- never sit in memory at once.
    """
    per_copy = int((base["events"]["type"] == "referral").sum())
    copies = max(1, -(-referrals // per_copy))
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / ".complete"
    if not done.is_file():
        for name, df in base.items():
            schema = pa.Schema.from_pandas(tile_copy(df.head(1), name, 0), preserve_index=False)
            with pq.ParquetWriter(folder / f"{name}.parquet", schema) as writer:
                for i in range(copies):
                    part = tile_copy(df, name, i)
                    writer.write_table(pa.Table.from_pandas(part, schema, preserve_index=False))
        done.write_text(f"{copies} copies\n")
    return copies * per_copy


def child(cohort: Path, model: str, out: Path, engine: str) -> None:
    """Score one cohort (run in a subprocess so its peak RSS is its own)."""
    from secondlook.score import run_score

    settings = load_section("score", load_params(ROOT / "params.yaml"))
    settings = dataclasses.replace(settings, start=None, end=None)
    t0 = time.perf_counter()
    doc = run_score(cohort, model, out, settings, engine=engine, log=lambda _: None)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "rows": doc["counts"]["referrals_in_window"]}))


#: rows of the predict_proba baseline at most; larger sizes scale its time linearly
BASELINE_ROWS = 1_000_000


def baseline_seconds(model_dir: str, base: dict[str, pd.DataFrame], n: int) -> float:
    """Bare ``predict_proba`` on prebuilt features for ``n`` rows (the base features tiled).

    Above :data:`BASELINE_ROWS` rows it is timed on that many and scaled by ``n / rows``
    (predict_proba is linear in rows), so that the baseline's matrix stays under a gigabyte.
    """
    model = load_model(model_dir)
    feats = build_features(base["households"], base["people"], base["events"])
    rows = min(n, BASELINE_ROWS)
    reps = max(1, -(-rows // len(feats)))
    X = pd.concat([feats] * reps, ignore_index=True).iloc[:rows]
    t0 = time.perf_counter()
    model.predict_proba(X)
    return (time.perf_counter() - t0) * n / rows


def train_default(work: Path) -> str:
    from secondlook.features.stage import assemble
    from secondlook.models import save_model, select_inputs, train_family
    from secondlook.synth import build_world

    data = load_params(ROOT / "params.yaml")
    _, tables = build_world(load_section("synth", data), n_households=3000)
    splits = assemble(tables, load_section("features", data))
    inputs = select_inputs(list(splits["train"].columns), False)
    model, meta = train_family(
        "logreg", load_section("train", data), splits["train"], splits["valid"], inputs
    )
    folder = work / "models" / "logreg"
    save_model(model, folder, meta)
    return str(folder)


def reference_seconds() -> float:
    """Seconds of a fixed single-core task, the fastest of three: sorting four million random
    floats, hashing 64 MB with SHA-256 and a pure-Python loop of two million steps."""
    x = np.random.default_rng(0).random(4_000_000)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        np.sort(x)
        hashlib.sha256(bytes(64 << 20)).digest()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def _children_cpu() -> float:
    """User and system CPU seconds of every waited-for descendant so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_sampled(cmd: list[str]) -> tuple[str, int]:
    """Run ``cmd``; return its stdout and the peak RSS (bytes) summed over its process tree."""
    # files, not pipes: a pipe nobody reads while sampling could fill and stall the child
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        with subprocess.Popen(cmd, stdout=out, stderr=err, text=True) as proc:
            root = psutil.Process(proc.pid)
            peak = 0
            while proc.poll() is None:
                try:
                    tree = [root, *root.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in tree))
                except psutil.Error:
                    pass
                time.sleep(0.05)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(err.read())
        return out.read(), peak


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--engine",
        choices=["pandas", "dask"],
        nargs="+",
        default=["pandas"],
        help="engines to time; with both, their outputs are compared byte for byte",
    )
    parser.add_argument("--base-households", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/score-bench"))
    parser.add_argument(
        "--cache",
        choices=["warm", "cold"],
        default="warm",
        help="start each run with the cohort read once (warm) or dropped from the page cache "
        "(cold: read from the disk, as an analyst's first run over a large extract)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each size and engine (interleaved); the summary gives their medians",
    )
    parser.add_argument("--child", nargs=4, metavar=("COHORT", "MODEL", "OUT", "ENGINE"))
    args = parser.parse_args(argv)
    if args.child:
        cohort, model, out, engine = args.child
        child(Path(cohort), model, Path(out), engine)
        return

    from secondlook.synth import build_cohort

    args.work.mkdir(parents=True, exist_ok=True)
    model = args.model or train_default(args.work)
    synth = load_section("synth", load_params(ROOT / "params.yaml"))
    base = build_cohort(synth, n_households=args.base_households)
    base = {k: base[k] for k in ("households", "people", "events")}
    cohorts = {size: args.work / f"cohort-{size}" for size in args.sizes}
    rows = {size: make_cohort(cohorts[size], base, size) for size in args.sizes}
    baselines = {size: baseline_seconds(model, base, rows[size]) for size in args.sizes}
    print(
        f"engines {', '.join(args.engine)}, model {model}, {args.repeat} run(s) each; "
        f"load average {_load()}"
    )
    print(
        f"{'run':>3} {'engine':>6} {'referrals':>10} {'seconds':>8} {'referrals/s':>12} "
        f"{'CPU s':>7} {'peak MiB':>9} {'vs predict_proba':>17} {'load':>15} {'ref s':>6} "
        f"{'iowait s':>9}"
    )
    runs: dict[tuple[int, str], list[Run]] = {}
    digests: dict[int, dict[str, set[str]]] = {size: {} for size in args.sizes}
    # repeats interleave the sizes, so that each size's readings sample the same spells of this
    # machine's speed, which drifts by 20% within an hour
    for r in range(1, args.repeat + 1):
        for size in args.sizes:
            for engine in args.engine:
                run = _score_once(cohorts[size], model, args, engine, size)
                runs.setdefault((size, engine), []).append(run)
                digests[size].setdefault(engine, set()).add(run.digest)
                print(
                    f"{r:>3} {engine:>6} {run.rows:>10,} {run.seconds:>8.1f} "
                    f"{run.rows / run.seconds:>12,.0f} {run.cpu:>7.1f} "
                    f"{run.peak / 2**20:>9,.0f} {run.seconds / baselines[size]:>16,.0f}x "
                    f"{run.load:>15} {run.reference:>6.2f} {run.iowait:>9.1f}",
                    flush=True,
                )
    for size in args.sizes:
        seen = set().union(*digests[size].values())
        if len(seen) > 1:
            raise SystemExit(f"outputs differ at {size:,} referrals: {digests[size]}")
        print(
            f"{size:,}: every output byte-identical ({', '.join(args.engine)}, "
            f"{args.repeat} run(s) each; sha256 {seen.pop()[:12]})",
            flush=True,
        )
    if args.repeat > 1 or len(args.engine) > 1 or len(args.sizes) > 1:
        _summary(runs, args.sizes, args.engine)


@dataclasses.dataclass(frozen=True)
class Run:
    """One scoring run: wall and CPU seconds, peak RSS (bytes) and the machine's state."""

    rows: int
    seconds: float
    cpu: float
    peak: int
    reference: float
    iowait: float
    load: str
    digest: str


def _score_once(cohort: Path, model: str, args: argparse.Namespace, engine: str, size: int) -> Run:
    """Score ``cohort`` once in a fresh process, as the bench's options say."""
    out = args.work / f"scores-{size}-{engine}.parquet"
    (read_whole if args.cache == "warm" else drop_cached)(cohort)
    reference = reference_seconds()
    cpu_before, iowait_before = _children_cpu(), _iowait()
    stdout, peak = _run_sampled(
        [sys.executable, __file__, "--child", str(cohort), model, str(out), engine]
    )
    cpu, iowait = _children_cpu() - cpu_before, _iowait() - iowait_before
    result = json.loads(stdout.strip().splitlines()[-1])
    digest = file_sha256(out)
    out.unlink()
    manifest_path(out).unlink(missing_ok=True)
    return Run(result["rows"], result["seconds"], cpu, peak, reference, iowait, _load(), digest)


def _summary(runs: dict[tuple[int, str], list[Run]], sizes: list[int], engines: list[str]) -> None:
    """Medians of the repeats; the engines' ratio and each size's against the one before."""
    print("median of the runs (min-max):")
    for size in sizes:
        for engine in engines:
            rs = runs[(size, engine)]
            wall = [r.seconds for r in rs]
            print(
                f"  {engine:>6} {rs[0].rows:>10,}  {statistics.median(wall):.1f} s "
                f"({min(wall):.1f}-{max(wall):.1f}), "
                f"{statistics.median(r.cpu for r in rs):.1f} CPU-s, "
                f"peak {max(r.peak for r in rs) / 2**20:,.0f} MiB at most, "
                f"ref {statistics.median(r.reference for r in rs):.2f} s",
                flush=True,
            )
    if "pandas" in engines and "dask" in engines:
        for size in sizes:
            ratio = _median_ratio(runs[(size, "dask")], runs[(size, "pandas")])
            print(f"  dask / pandas at {size:,}: {ratio:.2f}", flush=True)
    for engine in engines:
        for small, large in zip(sizes, sizes[1:], strict=False):
            a, b = runs[(small, engine)], runs[(large, engine)]
            paired = " ".join(f"{y.seconds / x.seconds:.1f}" for x, y in zip(a, b, strict=True))
            print(
                f"  {engine} {large:,} / {small:,}: {_median_ratio(b, a):.2f} (medians; "
                f"CPU-s {statistics.median(r.cpu for r in b) / statistics.median(r.cpu for r in a):.2f}"
                f"; run by run {paired})",
                flush=True,
            )


def _median_ratio(top: list[Run], bottom: list[Run]) -> float:
    return statistics.median(r.seconds for r in top) / statistics.median(r.seconds for r in bottom)


def read_whole(folder: Path) -> None:
    """Read every file of a cohort once (into the page cache, where it fits), so that each run
    starts as a run at a million referrals does, with its input in memory."""
    for path in sorted(folder.iterdir()):
        with path.open("rb") as fh:
            while fh.read(1 << 23):
                pass


def drop_cached(folder: Path) -> None:
    """Drop a cohort's files from the page cache (``posix_fadvise(DONTNEED)``, after an
    ``fsync``: a dirty page, as a cohort written moments before has, is not dropped), so that
    the run reads them from the disk."""
    for path in sorted(folder.iterdir()):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _iowait() -> float:
    """Seconds the machine's cores have waited on the disk so far, summed over the cores (0 where
    the system does not count them)."""
    return float(getattr(psutil.cpu_times(), "iowait", 0.0))


def _load() -> str:
    """The machine's 1, 5 and 15-minute load averages (2 cores: 2.0 is fully busy)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
