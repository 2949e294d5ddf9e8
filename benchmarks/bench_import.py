"""Time ``secondlook import cin-census`` on a 50,000-child, 10-year census export.

Usage::

    .venv/bin/python benchmarks/bench_import.py [--children 50000] [--work /tmp/import-bench]

A base world is simulated once over the ten census years 2016-17 to 2025-26 (May 2016 to
December 2025, no seed cases) and tiled -- every id gets a copy suffix -- until at least
``--children`` children have a referral; it is exported as every year's returns (one file per
authority and year) with ``secondlook.ingest.export_census``. The import then runs in a fresh
subprocess (parse, merge, rules, validation, parquet output and manifest); the script prints
children per second, the wall and CPU seconds of the child, its peak RSS, and the ratio of the
import's wall time to parsing the same files with ``xml.etree.ElementTree.parse`` (the named
baseline: a whole-tree parse that does nothing with what it read).
Targets: <= 60 s and <= 1.5 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from secondlook.ingest.export import export_census, prepare, write_census
from secondlook.params import load_params, load_section
from secondlook.synth import build_world

ROOT = Path(__file__).resolve().parents[1]
YEARS = range(2017, 2027)

CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter(); c0 = time.process_time()
from secondlook.ingest.stage import run_import_census
files = [Path(p) for p in json.loads(sys.argv[1])]
manifest = run_import_census(files, Path(sys.argv[2]), log=lambda _: None)
print(json.dumps({
    "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "children": manifest["counts_out"]["people"], "events": manifest["counts_out"]["events"],
}))
"""


def tile(base: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """``copies`` disjoint copies of a world's cohort tables (ids suffixed ``c<i>``)."""
    id_columns = {
        "households": ["household_id"],
        "people": ["person_id", "household_id"],
        "events": ["event_id", "household_id", "person_id", "related_person_id"],
    }
    out = {}
    for name, columns in id_columns.items():
        parts = []
        for i in range(copies):
            part = base[name].copy()
            for column in columns:
                part[column] = part[column] + f"c{i}"
            parts.append(part)
        out[name] = pd.concat(parts, ignore_index=True)
    return out


def make_files(children: int, work: Path) -> list[Path]:
    """Simulate, tile and export; returns the census files written."""
    raw = load_params(ROOT / "params.yaml")
    raw = {
        **raw,
        "synth": {
            **raw["synth"],
            "history_start": "2010-01-01",
            "start": "2016-05-01",
            "decisions_from": "2017-01-01",
            "end": "2025-12-31",
        },
    }
    _, world = build_world(load_section("synth", raw), None, n_households=4000)
    referred = world["events"].loc[world["events"]["type"] == "referral", "person_id"].nunique()
    copies = -(-children // referred)
    prepared = prepare(tile(world, copies))
    files: list[Path] = []
    for year in YEARS:
        files += write_census(export_census(prepared, year), work / f"cin_{year}.xml")
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = make_files(args.children, work)
    size_mb = sum(p.stat().st_size for p in files) / 2**20
    print(f"setup: {len(files)} files, {size_mb:.0f} MB, {time.perf_counter() - t0:.0f} s")
    out = work / "cohort"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([str(p) for p in files]), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    t1 = time.perf_counter()
    for p in files:
        ET.parse(p)
    baseline = time.perf_counter() - t1
    print(
        f"import: {got['children']:,} children, {got['events']:,} events in {got['wall']:.1f} s "
        f"wall ({got['cpu']:.1f} s CPU), {got['children'] / got['wall']:,.0f} children/s, "
        f"peak RSS {got['rss_mb']:.0f} MB"
    )
    print(
        f"baseline ElementTree.parse of the same files: {baseline:.1f} s; "
        f"import / parse = {got['wall'] / baseline:.1f}x"
    )
    ok = got["wall"] <= 60 and got["rss_mb"] <= 1536
    load = os.getloadavg()[0]
    print(
        f"target (<= 60 s, <= 1.5 GB): {'met' if ok else 'NOT met'} "
        f"(load average {load:.1f} on {os.cpu_count()} cores; CPU {got['cpu']:.1f} s)"
    )


if __name__ == "__main__":
    main()
