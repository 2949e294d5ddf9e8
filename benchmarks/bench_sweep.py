"""Time the sweep: one world's estimands on one core, and many worlds on a LocalCluster.

Usage::

    .venv/bin/python benchmarks/bench_sweep.py [--design experiments/designs/observability.yaml]
        [--households 50000] [--worlds 15] [--workers 2] [--dvc-exp | --dvc-seconds S]

1. **one world**: :func:`secondlook.sweep.task.run_world` at ``--households`` (default: the
   params.yaml world size) in this process, one thread (``train.ebm.n_jobs: 1``, BLAS/OpenMP
   limited to one thread): seconds and peak RSS. Target: <= 60 s.
2. **many worlds**: the first ``--worlds`` worlds of the design (scenarios x enough seeds) on a
   ``--workers``-worker LocalCluster, no cache: wall time, worlds per hour, each worker's peak
   RSS. Target: 15 worlds in <= 15 minutes on 2 workers, <= 3 GB per worker.
3. **baseline**: the same world as a ``dvc exp run --temp`` of the whole pipeline (with
   ``--dvc-exp``; it runs every stage, plots, packs and report included), or a time measured
   before (``--dvc-seconds``); prints the ratio sweep world / dvc experiment (lower is better).

``--worlds 0`` skips part 2. The machine may be shared: the load average is printed with each
figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from secondlook.params import load_params  # noqa: E402
from secondlook.sweep.design import load_design  # noqa: E402
from secondlook.sweep.engine import run_worlds  # noqa: E402
from secondlook.sweep.task import make_tasks, run_world  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _vignettes(params: dict) -> list[tuple[str, str]]:
    folder = REPO / "data" / "vignettes"
    return [(n, (folder / f"{n}.yaml").read_text()) for n in params["synth"]["vignettes"]]


def bench_one(design_path: Path, households: int | None) -> float:
    params = load_params(REPO / "params.yaml")
    design = load_design(design_path, params)
    design = dataclasses.replace(design, n_households=households or params["synth"]["n_households"])
    task = make_tasks(design, _vignettes(params))[0]
    # a worker imports the libraries once, before its first world: timed apart
    t, c = time.perf_counter(), time.process_time()
    _import_world_modules()
    print(
        f"imports a world needs (once per process): {time.perf_counter() - t:.1f} s wall, "
        f"{time.process_time() - c:.1f} CPU-s"
    )
    load = _load()
    t, c = time.perf_counter(), time.process_time()
    row = run_world(task)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"one world ({task.scenario}, seed {task.seed}, {task.n_households} households, "
        f"{row['n_referrals']} referrals, families {', '.join(task.families)}): {dt:.1f} s wall, "
        f"{cpu:.1f} CPU-s on one thread, peak RSS {_peak_rss_gb():.2f} GB; target 60 s: ratio "
        f"{dt / 60:.2f} wall, {cpu / 60:.2f} CPU (load {load} before, {_load()} after)"
    )
    return dt


def _import_world_modules() -> None:
    """Import what :func:`run_world` imports lazily (the stages, scikit-learn, interpret)."""
    import importlib

    for name in (
        "secondlook.synth.stage", "secondlook.synth.calibration", "secondlook.synth.patterns",
        "secondlook.features", "secondlook.features.stage", "secondlook.models",
        "secondlook.sweep.estimands", "secondlook.evaluate.fairness", "secondlook.explain.fidelity",
        "interpret.glassbox", "sklearn.ensemble", "sklearn.linear_model", "sklearn.tree",
    ):  # fmt: skip
        importlib.import_module(name)


def _worker_peak_rss() -> float:
    import resource as r

    return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1024**2


def _worker_cpu() -> float:
    import resource as r

    u = r.getrusage(r.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def bench_many(design_path: Path, households: int | None, n_worlds: int, workers: int) -> None:
    from distributed import Client

    from secondlook.sweep.engine import cluster_client

    params = load_params(REPO / "params.yaml")
    design = load_design(design_path, params)
    n_seeds = -(-n_worlds // len(design.scenarios))
    design = dataclasses.replace(
        design,
        n_households=households or params["synth"]["n_households"],
        seeds=tuple(range(design.seeds[0], design.seeds[0] + n_seeds)),
    )
    tasks = make_tasks(design, _vignettes(params))[:n_worlds]
    load = _load()
    t = time.perf_counter()
    with cluster_client(None, workers) as client:
        assert isinstance(client, Client)
        rows = run_worlds(tasks, None, client=client, progress=False, log=lambda _s: None)
        rss = client.run(_worker_peak_rss)
        cpu = client.run(_worker_cpu)
    dt = time.perf_counter() - t
    per = [r["seconds"] for r in rows]
    print(
        f"{len(rows)} worlds ({design.n_households} households each) on a {workers}-worker "
        f"LocalCluster: {dt:.0f} s wall ({dt / 60:.1f} min; target 15 min for 15 worlds: "
        f"{dt / len(rows):.0f} s per world, ratio {dt / len(rows) * 15 / 900:.2f}), "
        f"{3600 * len(rows) / dt:.0f} worlds/hour, {min(per):.0f}-{max(per):.0f} s "
        f"per world inside a worker, {sum(cpu.values()):.0f} CPU-s in the workers; peak RSS per "
        "worker "
        + ", ".join(f"{v:.2f}" for v in rss.values())
        + f" GB (load {load} before, {_load()} after)"
    )


def bench_dvc(seed: int) -> float:
    t = time.perf_counter()
    subprocess.run(
        ["dvc", "exp", "run", "--temp", "-n", f"bench-sweep-{seed}", "-S", f"synth.seed={seed}"],
        cwd=REPO,
        check=True,
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", type=Path, default=REPO / "experiments/designs/observability.yaml")
    ap.add_argument("--households", type=int, default=None)
    ap.add_argument("--worlds", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--dvc-exp", action="store_true", help="time a dvc exp run --temp too")
    group.add_argument("--dvc-seconds", type=float, default=None)
    args = ap.parse_args()
    one = bench_one(args.design, args.households)
    if args.worlds:
        bench_many(args.design, args.households, args.worlds, args.workers)
    dvc = args.dvc_seconds
    if args.dvc_exp:
        dvc = bench_dvc(seed=load_params(REPO / "params.yaml")["synth"]["seed"] + 1)
        print(f"dvc exp run --temp (whole pipeline, one world): {dvc:.0f} s (load {_load()})")
    if dvc:
        print(f"sweep world / dvc experiment: ratio {one / dvc:.2f}")
    else:
        print("dvc experiment baseline not measured (--dvc-exp or --dvc-seconds)")


if __name__ == "__main__":
    main()
