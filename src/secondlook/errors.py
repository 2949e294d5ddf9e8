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
so ``except ValueError`` around a library call still works. Every error is built from its
message alone -- :class:`TableError` pickles with its fields -- so it travels from a Dask
worker or a process pool to the client intact.
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
    table, column, check
        Where and which rule.
    rows
        The first offending rows (at most five are shown). With ``located``, their index holds
        where each row is in its file (``line 12`` of a CSV, ``row 12`` of a parquet file) and
        the values are shown with ``repr`` so that a stray space or quote is visible.
    total
        How many rows of the whole table fail (default ``len(rows)``).
    located
        Whether ``rows`` is indexed by file locations (see above).
    hide_values
        Show the locations only: the column may identify someone.
    path
        The file the table was read from, named in the message when given.
    """

    def __init__(
        self,
        table: str,
        column: str,
        check: str,
        rows: pd.DataFrame,
        *,
        total: int | None = None,
        located: bool = False,
        hide_values: bool = False,
        path: object = None,
    ) -> None:
        self.table, self.column, self.check, self.rows = table, column, check, rows
        self.total = len(rows) if total is None else int(total)
        self.located, self.hide_values, self.path = located, hide_values, path
        where = f"table `{table}`" + (f" ({path})" if path is not None else "")
        head = f"{where}, column `{column}`: {self.total} row(s) fail `{check}`"
        if not len(rows):
            super().__init__(head)
        elif located:
            super().__init__(
                f"{head}; first offending rows:\n{_located(rows.head(5), hide_values)}"
            )
        else:
            shown = rows.head(5).to_string(index=True, max_colwidth=40)
            super().__init__(f"{head}; first offending rows:\n{shown}")

    def __reduce__(self) -> tuple[object, ...]:
        # pickles with its fields, so that it travels from a worker process intact
        return (
            _rebuild_table_error,
            (
                self.table,
                self.column,
                self.check,
                self.rows,
                self.total,
                self.located,
                self.hide_values,
                self.path,
            ),
        )


def _rebuild_table_error(
    table: str,
    column: str,
    check: str,
    rows: pd.DataFrame,
    total: int,
    located: bool,
    hide_values: bool,
    path: object,
) -> TableError:
    return TableError(
        table,
        column,
        check,
        rows,
        total=total,
        located=located,
        hide_values=hide_values,
        path=path,
    )


def _located(rows: pd.DataFrame, hide_values: bool) -> str:
    """``  line 12: 'mother '`` per row (``type='x', detail='y'`` for several columns)."""
    out = []
    for label, row in zip(rows.index, rows.itertuples(index=False), strict=True):
        if hide_values:
            out.append(f"  {label} (value not shown: it may identify someone)")
        elif len(rows.columns) == 1:
            out.append(f"  {label}: {_show(row[0])}")
        else:
            pairs = ", ".join(f"{c}={_show(v)}" for c, v in zip(rows.columns, row, strict=True))
            out.append(f"  {label}: {pairs}")
    return "\n".join(out)


def _show(value: object) -> str:
    import datetime as dt

    import numpy as np
    import pandas as pd

    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "(empty)"
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return str(value)[:10] if str(value).endswith("00:00:00") else str(value)
    return repr(value)


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
