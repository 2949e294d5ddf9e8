"""The chunk scorer's fast paths give what the plain ones give: reasons as columns equal
``top_reasons``, and worker processes give the same bytes as this process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shap

from secondlook.errors import SecondlookError
from secondlook.explain import top_reasons
from secondlook.explain.reasons import top_reason_columns
from secondlook.score import run_score

from .conftest import score_params, write_cohort


def _quiet(_: str) -> None:
    pass


@pytest.mark.parametrize("k", [1, 3, 6])
def test_reason_columns_equal_top_reasons(k: int) -> None:
    rng = np.random.default_rng(3)
    n, p = 400, 5
    values = rng.normal(size=(n, p)).round(1)  # ties within rows
    values[rng.random((n, p)) < 0.3] = 0.0  # rows with fewer reasons than k
    values[0] = 0.0
    data = rng.integers(0, 4, size=(n, p)).astype(float)
    data[1, :] = -0.0
    names = ["referrals_12m", "age_months", "not_in_the_catalogue", "unborn", "disability"]
    expl = shap.Explanation(values=values, data=data, feature_names=names)
    want = top_reasons(expl, k)
    got = top_reason_columns(expl, k)
    assert len(got) == min(k, p)
    for j, (feature, sentence, contribution, against) in enumerate(got):
        assert all(a is None for a in against)  # no reference given: the mark is unknown
        for i, row in enumerate(want):
            if j < len(row):
                assert feature[i] == row[j]["feature"]
                assert sentence[i] == row[j]["sentence"]
                assert contribution[i] == row[j]["contribution"]
            else:
                assert feature[i] is None and sentence[i] is None and np.isnan(contribution[i])


def test_worker_processes_give_identical_bytes(
    cohort_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "one.parquet", tmp_path / "two.parquet"
    run_score(cohort_dir, str(model_dir), a, score_params(), workers=1, log=_quiet)
    doc = run_score(cohort_dir, str(model_dir), b, score_params(), workers=2, log=_quiet)
    assert doc["settings"]["chunks"] > 2 and doc["run"]["workers"] == 2
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.slow
def test_a_worker_error_refuses_the_cohort_and_writes_nothing(
    cohort_tables: dict[str, pd.DataFrame], model_dir: Path, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    ev.loc[ev.index[ev["type"] == "ed_attendance"][-1], "person_id"] = "P-NOBODY"
    folder = write_cohort(t, tmp_path / "c")
    out_dir = tmp_path / "out"
    # the chunk's cross-table check, run on a worker, names the table and column (TableError)
    with pytest.raises(SecondlookError, match="refers to a person that exists"):
        run_score(folder, str(model_dir), out_dir / "s.parquet", score_params(), workers=2)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
