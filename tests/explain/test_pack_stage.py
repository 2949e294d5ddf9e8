"""secondlook.explain.pack_stage: the packs' index says what practice decided in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from secondlook.explain.pack_stage import _practice_words, packs_index_html
from secondlook.explain.packs import OUTCOME_SHORT
from secondlook.explain.sample import SEED_KIND
from secondlook.schema import OUTCOMES


def test_the_index_words_what_practice_decided() -> None:
    assert set(OUTCOME_SHORT) == set(OUTCOMES)
    index = [
        {
            "decision_id": f"D{i}",
            "decision_date": "2024-01-01",
            "probability": "12%",
            "flagged": False,
            "practice": _practice_words(outcome),
            "kind": SEED_KIND,
        }
        for i, outcome in enumerate(OUTCOMES)
    ]
    page = packs_index_html(index, "logreg")
    assert "<td>no further action</td>" in page
    assert "<td>nfa</td>" not in page and "<td>s47</td>" not in page
    # an outcome that is not recorded says so, never "nan" or "<NA>"
    for missing in (None, np.nan, pd.NA, ""):
        assert _practice_words(missing) == "not recorded"
