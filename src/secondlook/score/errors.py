"""The errors batch scoring raises for input a user can fix (defined in :mod:`secondlook.errors`).

Every one is a :class:`~secondlook.errors.SecondlookError` and a :class:`ValueError` carrying
one complete message, and each pickles by its message alone, so an error raised on a Dask
worker reaches the client intact.
"""

from __future__ import annotations

from secondlook.errors import CohortError, IdentifierError, ModelLoadError, ScoreError

__all__ = ["CohortError", "IdentifierError", "ModelLoadError", "ScoreError"]
