"""Model families behind one small interface, calibration, capacity thresholds, persistence.

- :class:`ModelFamily` -- a scikit-learn binary classifier: ``fit``, ``decision_function`` (the
  margin: log-odds, or points for ``rules``), ``predict_proba``, ``classes_``, and ``describe``;
- the families :data:`FAMILIES`: ``rules``, ``logreg``, ``tree``, ``ebm``, ``gbm``;
- :class:`CalibratedModel` -- margin -> probability on the validation split, and the capacity cut;
- :func:`save_model` / :func:`load_model` -- skops files read with an explicit trusted-types list;
- :func:`run_train` -- the ``train`` stage.
"""

from __future__ import annotations

from secondlook.models.base import ModelFamily, ModelInputError, as_inputs
from secondlook.models.calibrate import PROBA_CLIP, CalibratedModel, capacity_cut
from secondlook.models.ebm import EBMModel
from secondlook.models.linear import LogRegModel
from secondlook.models.persist import (
    METADATA_FILE,
    MODEL_FILE,
    TRUSTED_TYPES,
    UntrustedModelError,
    file_sha256,
    load_metadata,
    load_model,
    save_model,
)
from secondlook.models.registry import FAMILIES, INTERPRETABLE, make_family
from secondlook.models.rules import RULE_COLUMNS, RulesModel
from secondlook.models.stage import (
    add_group_inputs,
    fit_family,
    label_column,
    run_train,
    select_inputs,
    train_family,
)
from secondlook.models.trees import GBMModel, TreeModel

__all__ = [
    "FAMILIES",
    "INTERPRETABLE",
    "METADATA_FILE",
    "MODEL_FILE",
    "PROBA_CLIP",
    "RULE_COLUMNS",
    "TRUSTED_TYPES",
    "CalibratedModel",
    "EBMModel",
    "GBMModel",
    "LogRegModel",
    "ModelFamily",
    "ModelInputError",
    "RulesModel",
    "TreeModel",
    "UntrustedModelError",
    "add_group_inputs",
    "as_inputs",
    "capacity_cut",
    "file_sha256",
    "fit_family",
    "label_column",
    "load_metadata",
    "load_model",
    "make_family",
    "run_train",
    "save_model",
    "select_inputs",
    "train_family",
]
