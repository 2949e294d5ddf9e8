"""Batch scoring of anonymised cohorts: validation, identifier screening, chunking, Dask, provenance.

- :func:`run_score` -- the ``score`` stage (``secondlook score``);
- :func:`score_chunk` -- the one partition function both engines run;
- :func:`open_cohort`, :func:`partition_cohort` -- reading and chunking a cohort folder;
- :func:`resolve_model` -- a model folder or ``models:/<name>@<alias>``, loaded safely;
- the errors a user can fix: :class:`ScoreError` and its kinds.

This package never imports :mod:`secondlook.synth`: real cohorts have no simulator.
"""

from __future__ import annotations

from secondlook.score.chunks import Plan, partition_cohort
from secondlook.score.engine import ChunkSettings, output_schema, score_chunk
from secondlook.score.errors import CohortError, IdentifierError, ModelLoadError, ScoreError
from secondlook.score.io import open_cohort
from secondlook.score.model import ModelBundle, resolve_model
from secondlook.score.reading import load_chunk
from secondlook.score.stage import manifest_path, run_score
from secondlook.score.validate import REJECTION_REASONS

__all__ = [
    "REJECTION_REASONS",
    "ChunkSettings",
    "CohortError",
    "IdentifierError",
    "ModelBundle",
    "ModelLoadError",
    "Plan",
    "ScoreError",
    "load_chunk",
    "manifest_path",
    "open_cohort",
    "output_schema",
    "partition_cohort",
    "resolve_model",
    "run_score",
    "score_chunk",
]
