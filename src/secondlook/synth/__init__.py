"""The synthetic world: households, people, the monthly simulation, practice, truth, seed cases."""

from secondlook.synth.stage import build_cohort, build_world, run_generate
from secondlook.synth.world import World, simulate

__all__ = ["World", "build_cohort", "build_world", "run_generate", "simulate"]
