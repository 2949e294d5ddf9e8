"""secondlook.report.performance: the price of interpretability and calibration in words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from secondlook.report.inputs import ReportInputs
from secondlook.report.performance import calibration_section


def test_performance_price_text_says_which_side_is_better() -> None:
    from secondlook.report.performance import _price_text

    price = {"metric": "auprc", "family": "ebm", "gbm_minus_family": 0.04, "lo": 0.02, "hi": 0.05}
    assert "the black box ranks measurably better" in _price_text(
        {"price_of_interpretability": price}
    )
    price.update(gbm_minus_family=-0.04, lo=-0.05, hi=-0.02)
    text = _price_text({"price_of_interpretability": price})
    assert "the interpretable model ranks measurably better" in text


def test_calibration_section_shows_the_interval_in_words(tmp_path: Path) -> None:
    folder = tmp_path / "plots" / "calibration"
    folder.mkdir(parents=True)
    frame = pd.DataFrame(
        {"bin": [0, 1], "mean_predicted": [0.0004, 0.5], "observed_rate": [0.0, 0.45],
         "count": [100, 300], "mean_low": [0.000001, 0.44], "mean_high": [0.0005, 0.56]}
    )  # fmt: skip
    frame.to_csv(folder / "ebm.csv", index=False)
    board = pd.DataFrame(
        [{"family": "ebm", "brier": 0.05, "brier_lo": 0.04, "brier_hi": 0.06, "ece": 0.01,
          "ece_lo": 0.0, "ece_hi": 0.02}]
    )  # fmt: skip
    inputs = ReportInputs.under(tmp_path)
    inputs = ReportInputs(**{**inputs.__dict__, "plots": tmp_path / "plots"})
    section = calibration_section(inputs, board, ["ebm"], "ebm")
    assert section.table is not None
    # weighted by bin size: (100 * 0.000499 + 300 * 0.12) / 400 = 0.0901 -> 9.0 points
    assert section.table.rows[0][-1] == "9.0 percentage points"
    assert "runs from 44% to 56%" in section.interval_text
    assert section.interval_table is not None
    first, last = section.interval_table.rows
    assert first[1:3] == ("under 0.1%", "under 0.1% to 0.1%")  # never "0.0%" for a chance
    assert last == ("300", "50.0%", "44.0% to 56.0%", "45.0%")
    # a calibration without intervals says so and adds no column
    frame.drop(columns=["mean_low", "mean_high"]).to_csv(folder / "ebm.csv", index=False)
    plain = calibration_section(inputs, board, ["ebm"], "ebm")
    assert plain.table is not None and len(plain.table.columns) == 3
    assert plain.interval_table is None
    assert "gives no interval" in plain.interval_text
