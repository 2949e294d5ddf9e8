"""Simulation studies over many worlds: a design of scenarios x seeds, each world's estimands.

- :mod:`.design` — ``experiments/designs/<name>.yaml``: scenarios (params overrides, validated
  like a study) and seeds;
- :mod:`.task` — one world as a pure task, (params, seed) -> one row of estimands;
- :mod:`.estimands` — what is measured in every world;
- :mod:`.engine` — the worlds in this process or on dask.distributed, cached so a sweep resumes;
- :mod:`.aggregate` — mean, SD and Monte Carlo SE per scenario, ranges, findings in every world;
- :mod:`.plots`, :mod:`.stage` — forest plots and the ``secondlook sweep`` command's outputs.
"""

from __future__ import annotations

from secondlook.sweep.aggregate import FINDINGS, HEADLINE, findings, mcse, ranges, summarise
from secondlook.sweep.design import Design, DesignError, Scenario, load_design
from secondlook.sweep.engine import run_worlds
from secondlook.sweep.stage import run_sweep
from secondlook.sweep.task import WorldTask, code_hash, make_tasks, run_world

__all__ = [
    "FINDINGS",
    "HEADLINE",
    "Design",
    "DesignError",
    "Scenario",
    "WorldTask",
    "code_hash",
    "findings",
    "load_design",
    "make_tasks",
    "mcse",
    "ranges",
    "run_sweep",
    "run_worlds",
    "run_world",
    "summarise",
]
