"""The errors batch scoring raises for input a user can fix.

Every one is a :class:`ValueError` carrying one complete message, and each pickles by its
message alone, so an error raised on a Dask worker reaches the client intact.
"""

from __future__ import annotations

__all__ = ["CohortError", "IdentifierError", "ModelLoadError", "ScoreError"]


class ScoreError(ValueError):
    """Batch scoring refused its input; the message says what to fix."""


class CohortError(ScoreError):
    """A cohort table is missing, unreadable, mistyped or breaks the table contract."""


class IdentifierError(ScoreError):
    """The cohort holds columns or values that look like direct identifiers."""


class ModelLoadError(ScoreError):
    """The model does not exist, cannot be read safely, or has been altered."""
