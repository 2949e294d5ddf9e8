"""One error base: every error a user can cause is a SecondlookError, under its boundary."""

from __future__ import annotations

import pickle

import pytest

from secondlook import errors
from secondlook.models import ModelInputError, UntrustedModelError
from secondlook.models.persist import ModelIntegrityError
from secondlook.params import ParamsError
from secondlook.schema import TableError
from secondlook.score import CohortError, IdentifierError, ModelLoadError, ScoreError
from secondlook.studies import StudyError
from secondlook.synth.vignettes import VignetteError

#: each boundary's error, and the built-in class its callers already caught
BOUNDARIES = [
    (ParamsError, ValueError),
    (StudyError, ValueError),
    (TableError, ValueError),
    (VignetteError, ValueError),
    (UntrustedModelError, ValueError),
    (ModelIntegrityError, ValueError),
    (ModelInputError, ValueError),
    (ScoreError, ValueError),
    (CohortError, ValueError),
    (IdentifierError, ValueError),
    (ModelLoadError, ValueError),
    (errors.InputError, ValueError),
    (errors.OptionError, ValueError),
    (errors.MissingInputError, FileNotFoundError),
]


@pytest.mark.parametrize(("cls", "builtin"), BOUNDARIES)
def test_every_boundary_error_is_a_secondlook_error(cls: type, builtin: type) -> None:
    assert issubclass(cls, errors.SecondlookError)
    assert issubclass(cls, builtin)
    assert cls.__module__ in ("secondlook.errors", "secondlook.studies")


def test_errors_module_lists_only_secondlook_errors() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    assert all(issubclass(c, errors.SecondlookError) for c in classes)
    assert {c for c, _ in BOUNDARIES} - {StudyError} <= set(classes)


@pytest.mark.parametrize(
    "cls", [c for c, _ in BOUNDARIES if c is not TableError], ids=lambda c: c.__name__
)
def test_message_only_errors_pickle_intact(cls: type) -> None:
    """Errors raised on a Dask worker reach the client with their class and message."""
    again = pickle.loads(pickle.dumps(cls("cohort `people`: column `role` is missing")))
    assert type(again) is cls
    assert str(again) == "cohort `people`: column `role` is missing"
