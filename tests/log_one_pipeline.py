"""One process logging one pipeline run (two families) to the store named by its arguments.

``python -m tests.log_one_pipeline <tracking uri> <candidate family> <seed>``; used by the
test that starts three at once on a fresh store.
"""

from __future__ import annotations

import sys
from pathlib import Path

from secondlook import tracking
from secondlook.models import CalibratedModel, make_family
from secondlook.models.toy import toy_feature_table, toy_model_inputs
from secondlook.params import load_params, load_section

LABEL = "label_warrants_escalation"


def main() -> None:
    uri, candidate, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = load_section("train", load_params(Path(__file__).resolve().parents[1] / "params.yaml"))
    train, valid = toy_feature_table(600, seed), toy_feature_table(400, seed + 100)
    inputs = toy_model_inputs(list(train.columns))
    runs = []
    for family in ("rules", "logreg"):
        fam = make_family(family, cfg).fit(train[inputs], train[LABEL].to_numpy())
        model = CalibratedModel(fam).fit(valid, valid[LABEL])
        runs.append(
            tracking.FamilyRun(
                family=family,
                model=model,
                metadata={"family": family},
                metrics={"auroc": 0.5},
                input_example=valid[model.inputs].head(3).astype("float64"),
            )
        )
    out = tracking.log_pipeline_run(
        runs, params={}, metrics={}, artifacts=[], candidate=candidate, uri=uri
    )
    print(out["parent_run_id"])


if __name__ == "__main__":
    main()
