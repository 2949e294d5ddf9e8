"""Time the generator: households/s, events/s and peak memory for a world of a given size.

Usage: ``python benchmarks/bench_generate.py [N_HOUSEHOLDS]`` (default: params.yaml's
``synth.n_households``, the default world). Baseline: the issue's target of the default world
(about 50,000 households over eleven years) in 30 s on 2 cores; the ratio printed is
measured time / 30 s (below 1.0 meets the target).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from secondlook.params import load_params, load_section
from secondlook.synth import build_cohort, build_world
from secondlook.synth.calibration import summary
from secondlook.synth.vignettes import load_vignettes

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 30.0


def main() -> None:
    params = load_section("synth", load_params(ROOT / "params.yaml"))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else params.n_households
    t0 = time.perf_counter()
    vignettes = load_vignettes(ROOT / "data" / "vignettes", params.vignettes)
    world, tables = build_world(params, vignettes, n_households=n)
    t_world = time.perf_counter() - t0
    summary(world, tables, params)
    build_cohort(params)
    total = time.perf_counter() - t0
    n_events = len(tables["events"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"households            {n}")
    print(f"events                {n_events}")
    print(f"decisions             {len(tables['decisions'])}")
    print(f"world (sim+validate)  {t_world:.1f} s")
    print(f"whole stage (+cohort) {total:.1f} s")
    print(f"households/s          {n / t_world:,.0f}")
    print(f"events/s              {n_events / t_world:,.0f}")
    print(f"peak RSS              {peak_mb:,.0f} MB")
    print(f"ratio to the 30 s target (default world): {total / TARGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
