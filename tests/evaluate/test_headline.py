"""The headline metrics file: few figures, rounded, the parity verdict and the largest disparity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from secondlook.evaluate.headline import (
    count_numbers,
    headline,
    largest_disparity,
    parity_verdict,
    round_sig,
    run_headline,
    terminal_figures,
)

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("rules", "logreg", "tree", "ebm", "gbm")
METRIC_KEYS = ("auroc", "auprc", "brier", "log_loss", "ece", "precision", "recall", "flag_rate")
GROUP_KEYS = ("flag_rate", "tpr", "fpr", "fnr", "ppv", "auroc", "mean_predicted", "observed")


def _cell(ratio: float, lo: float, hi: float, value: float = 0.1) -> dict[str, float]:
    return {"value": value, "lo": value, "hi": value, "ratio": ratio, "ratio_lo": lo,
            "ratio_hi": hi}  # fmt: skip


def _fairness() -> dict:
    """Five families x five attributes x eight groups x eight metrics, like the real file."""
    fams = {}
    for f in FAMILIES:
        attrs = {}
        for a in ("ethnicity", "deprivation_quintile", "sex", "disability", "local_authority"):
            groups = {
                f"g{i}": {"n": 100, **{m: _cell(1.0, 0.9, 1.1) for m in GROUP_KEYS}}
                for i in range(8)
            }
            attrs[a] = {"reference": "g0", "groups_outside_band": {}, "by_group": groups}
        fams[f] = attrs
    # planted: a wide interval (uncertain), a point outside but interval straddling, and the
    # largest surely-outside disparity (below the band: 1/2.5 is further than 1.9)
    la = fams["logreg"]["local_authority"]["by_group"]
    la["g1"]["ppv"] = _cell(1.03, 0.51, 2.10)
    la["g2"]["fpr"] = _cell(3.0, 0.7, 6.0)
    dis = fams["logreg"]["disability"]["by_group"]
    dis["g3"]["flag_rate"] = _cell(1.9, 1.5, 2.4, value=0.22)
    dis["g4"]["tpr"] = _cell(0.4, 0.25, 0.6, value=0.04)
    dis["g5"]["auroc"] = _cell(0.1, 0.05, 0.2)  # not a disparity metric of the headline
    dis["g6"]["fnr"] = "suppressed"
    return {"parity_band": [0.8, 1.25], "families": fams}


def _metrics() -> dict:
    fam = {
        f: {f"{k}{s}": 0.123456789 for k in METRIC_KEYS for s in ("", "_lo", "_hi")}
        for f in FAMILIES
    }
    practice = {
        w: {
            "escalations": 2010,
            "caught": 448,
            "recall": 0.63,
            "recall_lo": 0.59,
            "recall_hi": 0.66,
        }
        for w in ("practice", *FAMILIES)
    }
    by_label = {x: {f: {"auroc": 0.9, "auroc_lo": 0.8, "auroc_hi": 0.95} for f in FAMILIES}
                for x in ("a", "b", "c", "d")}  # fmt: skip
    return {
        "label": "warrants_escalation",
        "n_test": 5654,
        "prevalence": 0.12,
        "best_interpretable": "ebm",
        "families": fam,
        "by_label": by_label,
        "price_of_interpretability": {"metric": "auprc", "family": "ebm",
                                      "gbm_minus_family": 0.0123, "lo": -0.01, "hi": 0.03},
        "practice": practice,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("lo", "hi", "verdict"),
    [
        (0.85, 1.2, "inside"),
        (0.8, 1.25, "inside"),
        (0.51, 2.10, "uncertain"),  # the sentence section 9 used to call "within the band"
        (0.9, 1.3, "uncertain"),
        (1.3, 2.0, "outside"),
        (0.2, 0.79, "outside"),
        (None, 1.0, "uncertain"),
        (float("nan"), 1.0, "uncertain"),
    ],
)
def test_parity_verdict_needs_the_whole_interval(lo, hi, verdict):
    assert parity_verdict(lo, hi) == verdict


def test_round_sig_keeps_six_significant_digits_and_drops_noise():
    assert round_sig(0.123456789) == 0.123457
    assert round_sig(1234567.0) == 1234570.0
    assert round_sig(8.88e-15) == 0.0  # additivity error: CPU noise, not a finding
    assert round_sig({"a": [0.100000000004, float("nan")], "b": True, "c": 3}) == {
        "a": [0.1, None],
        "b": True,
        "c": 3,
    }
    # a last-bit difference, as another CPU gives, rounds to the same number
    x = 0.7012345678901234
    assert round_sig(x) == round_sig(x * (1 + 4e-16))


def test_largest_disparity_is_the_furthest_surely_outside_the_band():
    best = largest_disparity(_fairness(), "logreg")
    assert best is not None
    assert (best["attribute"], best["group"], best["metric"]) == ("disability", "g4", "tpr")
    assert best["ratio"] == 0.4 and (best["ratio_lo"], best["ratio_hi"]) == (0.25, 0.6)
    assert best["reference"] == "g0" and best["reference_value"] == 0.1
    assert largest_disparity(_fairness(), "gbm") is None  # every ratio inside


def test_headline_is_small_and_counts_verdicts():
    h = headline(_metrics(), _fairness())
    n = count_numbers(h)
    # 5 families x (6 metrics x 3 + 3 verdict counts) + 5 numbers of logreg's largest
    # disparity + price 3 + practice 6 x 3 + n_test + prevalence
    assert n == 5 * (18 + 3) + 5 + 3 + 18 + 2
    assert n <= 200
    counts = h["families"]["logreg"]["fairness"]
    assert counts["ratios_outside_band"] == 2  # g3 flag_rate, g4 tpr (auroc is not counted)
    assert counts["ratios_uncertain_band"] == 2  # g1 ppv, g2 fpr
    assert h["families"]["logreg"]["auroc"] == 0.123457


def test_run_headline_writes_the_file_and_names_a_missing_input(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps(_metrics()))
    (tmp_path / "fairness.json").write_text(json.dumps(_fairness()))
    expl = tmp_path / "explanations"
    expl.mkdir()
    (expl / "summary.json").write_text(json.dumps({"ebm": {"additivity_max_error": 8.9e-15}}))
    out, details = tmp_path / "headline.json", tmp_path / "headline-families.json"
    content = run_headline(
        tmp_path / "metrics.json",
        out,
        fairness=tmp_path / "fairness.json",
        explanations=expl,
        details=details,
    )
    assert json.loads(details.read_text()) == content
    assert json.loads(out.read_text()) == terminal_figures(content)
    assert content["families"]["ebm"]["explanations"] == {"additivity_max_error": 0.0}
    # byte-identical on a rerun
    first = out.read_bytes(), details.read_bytes()
    run_headline(tmp_path / "metrics.json", out, fairness=tmp_path / "fairness.json",
                 explanations=expl, details=details)  # fmt: skip
    assert (out.read_bytes(), details.read_bytes()) == first
    with pytest.raises(FileNotFoundError, match="nope.json"):
        run_headline(tmp_path / "nope.json", tmp_path / "other.json")
    assert not (tmp_path / "other.json").exists()


def _dvc_show_width(path: str, figures: dict) -> int:
    """The width of ``dvc metrics show``'s lines for one flat file: a column per key, each as
    wide as its header or its value (rounded to 5 decimals, DVC's default), two spaces apart."""
    cells = [(path, "Path")]
    for k, v in figures.items():
        text = f"{round(v, 5)}" if isinstance(v, float) else str(v)
        cells.append((text, k))
    return sum(max(len(a), len(b)) for a, b in cells) + 2 * (len(cells) - 1)


def test_terminal_figures_are_the_candidates_on_one_line():
    m = _metrics()
    m["families"]["logreg"]["auroc"] = 0.7654321
    m["best_interpretable"] = "logreg"
    m["practice"]["logreg"]["recall"] = 0.93
    h = headline(m, _fairness())
    t = terminal_figures(h)
    assert t["candidate"] == "logreg"
    assert t["auroc"] == 0.765432
    assert t["lead_over_practice"] == pytest.approx(0.93 - 0.63)
    assert t["price"] == 0.0123
    assert t["max_disparity"] == 0.4  # logreg's planted largest disparity (g4 tpr)
    assert count_numbers(t) <= 8
    assert _dvc_show_width("reports/headline.json", t) <= 120
    # no disparity surely outside the band: the ratio reads as parity, not as missing
    assert terminal_figures(headline(_metrics(), _fairness()))["candidate"] == "ebm"
    m["best_interpretable"] = "gbm"
    assert terminal_figures(headline(m, _fairness()))["max_disparity"] == 1.0


def test_dvc_declares_the_headline_not_the_full_tables_as_metrics():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    declared = []
    for stage in stages.values():
        body = stage.get("do", stage)
        for entry in body.get("metrics", []):
            declared += list(entry) if isinstance(entry, dict) else [entry]
    assert declared == ["reports/headline.json"]  # one file: `dvc metrics show` is one line
    full_tables = {
        "reports/metrics.json",
        "reports/fairness.json",
        "reports/explanations/summary.json",
        "reports/explanations/fidelity.json",
        "reports/explanations/stability.json",
    }
    assert not full_tables & set(declared)
