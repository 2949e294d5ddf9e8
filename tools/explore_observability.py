"""Explore how the world's settings move the proxy-trained logistic AUROC and the calibration.

Usage::

    .venv/bin/python tools/explore_observability.py [--households 10000] [--seeds 1]
        [--design experiments/designs/observability.yaml --scenario low]
        [-S synth.practice.icpc=0.3 ...]

Prints, per world, the proxy-trained, proxy-evaluated logistic AUROC on ``cp_plan_12m`` and
``removal_12m`` (the sweep's ``proxy_auroc.logreg.<proxy>``), the calibration figures outside
their tolerance, and a few key figures. ``--scenario`` starts from that scenario of ``--design``
(its ``set`` and ``scale`` applied to params.yaml); each ``-S key=value`` then overrides a dotted
key (YAML value), as ``dvc exp run -S`` does.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import yaml  # noqa: E402

from secondlook.params import load_params  # noqa: E402
from secondlook.sweep.design import load_design  # noqa: E402
from secondlook.sweep.task import WorldTask, run_world  # noqa: E402
from secondlook.synth.calibration import TARGETS  # noqa: E402

KEY = ("referrals_per_10k", "rereferral_12m", "nfa_share", "s47_per_referral", "icpc_per_s47", "plans_per_referral", "on_plan_per_10k", "plan_under1_share")  # fmt: skip


def _set(params: dict, dotted: str, value: object) -> None:
    *path, last = dotted.split(".")
    node = params
    for p in path:
        node = node[p]
    node[last] = value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=10000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--families", default="logreg")
    ap.add_argument("--design", default="experiments/designs/observability.yaml")
    ap.add_argument("--scenario", default=None, help="a scenario of --design to start from")
    ap.add_argument("--first-seed", type=int, default=None, help="default: synth.seed")
    ap.add_argument("-S", action="append", default=[], help="dotted.key=value")
    args = ap.parse_args()
    params = copy.deepcopy(load_params("params.yaml"))
    if args.scenario:
        scenarios = {sc.name: sc for sc in load_design(args.design, params).scenarios}
        params = copy.deepcopy(dict(scenarios[args.scenario].params))
    for item in args.S:
        key, value = item.split("=", 1)
        _set(params, key, yaml.safe_load(value))
    base_seed = params["synth"]["seed"] if args.first_seed is None else args.first_seed
    for seed in range(base_seed, base_seed + args.seeds):
        task = WorldTask(
            "explore", "x", params, seed, args.households, tuple(args.families.split(","))
        )
        t = time.perf_counter()
        row = run_world(task)
        out = [
            f"hh={args.households} seed={seed} {time.perf_counter() - t:.0f}s",
            f"refs={row['n_referrals']}",
        ]
        for proxy in ("cp_plan_12m", "removal_12m"):
            out.append(f"{proxy}={row.get(f'proxy_auroc.logreg.{proxy}', float('nan')):.3f}")
        out.append(f"truth(logreg)={row.get('auroc.logreg.warrants_escalation', float('nan')):.3f}")
        print(" ".join(out))
        print("   " + " ".join(f"{k}={row[f'calibration.{k}']:.3g}" for k in KEY))
        bad = [
            f"{t.key}={row[f'calibration.{t.key}']:.3g} [{t.low},{t.high}]"
            for t in TARGETS
            if not t.low <= row[f"calibration.{t.key}"] <= t.high
        ]
        print("   outside: " + ("; ".join(bad) if bad else "none"), flush=True)


if __name__ == "__main__":
    main()
