"""Row checks of the streamed tables, each against the schema's row-by-row rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from secondlook.schema import bad_details
from secondlook.score.row_checks import bad_detail, vocab_codes

Tables = dict[str, pd.DataFrame]


def test_detail_rule_per_distinct_pair_matches_the_row_rule(cohort_tables: Tables) -> None:
    ev = cohort_tables["events"][["event_id", "type", "detail"]].copy()
    batch = pa.Table.from_pandas(ev, preserve_index=False)
    assert not bad_detail(batch).any()  # the simulated cohort is clean
    ev = ev.copy()
    bad_rows = [7, len(ev) // 2, len(ev) - 1]
    ev.loc[bad_rows[0], "detail"] = "not_a_detail"
    ev.loc[bad_rows[1], "type"] = "assessment_completed"
    ev.loc[bad_rows[1], "detail"] = "neglect;bogus"
    ev.loc[bad_rows[2], "type"] = "child_removed"
    ev.loc[bad_rows[2], "detail"] = "neglect"
    oracle = bad_details(ev["type"].to_numpy(dtype=object), ev["detail"])
    assert sorted(np.flatnonzero(oracle).tolist()) == sorted(bad_rows)
    planted = pa.Table.from_pandas(ev, preserve_index=False)
    got = bad_detail(planted)
    assert np.flatnonzero(got).tolist() == sorted(bad_rows)
    # the same rule on the type's vocabulary codes, as the partition passes them
    codes = vocab_codes("events", "type", planted.column("type"))
    np.testing.assert_array_equal(bad_detail(planted, codes), got)
