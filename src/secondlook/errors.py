"""One base for every error a user can cause, with one subclass per boundary.

The CLI catches :class:`SecondlookError` alone: it prints one line naming what is wrong and
exits with code 2. Any other exception is a bug in secondlook: the CLI prints its traceback
and a line asking for a report, and exits with code 3.

=========================  =====================================================================
boundary                   error
=========================  =====================================================================
params.yaml, study files   :class:`ParamsError` (``secondlook.studies.StudyError`` below it)
a canonical table          :class:`TableError` (table, column, check and the first rows)
a seed-case file           :class:`VignetteError`
a saved model folder       :class:`ModelFileError` (:class:`UntrustedModelError`,
                           :class:`ModelIntegrityError`)
a model's inputs           :class:`ModelInputError`
a cohort to score          :class:`ScoreError` (:class:`CohortError`, :class:`IdentifierError`,
                           :class:`ModelLoadError`)
a stage's input files      :class:`MissingInputError` (absent), :class:`InputError` (unusable)
a command-line option      :class:`OptionError`
=========================  =====================================================================

Each keeps the built-in class callers already caught (``ValueError``, ``FileNotFoundError``),
so ``except ValueError`` around a library call still works. Every error but
:class:`TableError` is built from its message alone, so it pickles and travels from a Dask
worker to the client intact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SecondlookError",
    "ParamsError",
    "TableError",
    "VignetteError",
    "ModelFileError",
    "UntrustedModelError",
    "ModelIntegrityError",
    "ModelInputError",
    "ScoreError",
    "CohortError",
    "IdentifierError",
    "ModelLoadError",
    "InputError",
    "MissingInputError",
    "OptionError",
]


class SecondlookError(Exception):
    """Base of the errors a user's input can cause; the message says what to fix."""


class ParamsError(SecondlookError, ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


class TableError(SecondlookError, ValueError):
    """A table breaks the contract; the message names the table, column and first rows.

    Parameters
    ----------
    table, column
        Where the check failed.
    check
        The name of the failed check (``"isin"``, ``"unique"``, ...).
    rows
        The offending rows; the first five are shown in the message.
    """

    def __init__(self, table: str, column: str, check: str, rows: pd.DataFrame) -> None:
        self.table, self.column, self.check, self.rows = table, column, check, rows
        shown = rows.head(5).to_string(index=True, max_colwidth=40)
        super().__init__(
            f"table `{table}`, column `{column}`: {len(rows)} row(s) fail `{check}`; "
            f"first offending rows:\n{shown}"
        )


class VignetteError(SecondlookError, ValueError):
    """A vignette file is malformed; the message names the file and the field."""


class ModelFileError(SecondlookError, ValueError):
    """A saved model folder cannot be used as it is."""


class UntrustedModelError(ModelFileError):
    """A model holds a type that is not trusted, or cannot be trusted."""


class ModelIntegrityError(UntrustedModelError):
    """A model file differs from what was trained, or no hash was recorded to tell."""


class ModelInputError(SecondlookError, ValueError):
    """The inputs given to a model are missing, non-numeric or not finite."""


class ScoreError(SecondlookError, ValueError):
    """Batch scoring refused its input; the message says what to fix."""


class CohortError(ScoreError):
    """A cohort table is missing, unreadable, mistyped or breaks the table contract."""


class IdentifierError(ScoreError):
    """The cohort holds columns or values that look like direct identifiers."""


class ModelLoadError(ScoreError):
    """The model does not exist, cannot be read safely, or has been altered."""


class InputError(SecondlookError, ValueError):
    """A stage's input exists but cannot be used (a missing column, one class, no rows)."""


class MissingInputError(SecondlookError, FileNotFoundError):
    """A file or folder a stage reads does not exist; the message says which stage makes it."""


class OptionError(SecondlookError, ValueError):
    """A command-line option has a value the command cannot use."""
