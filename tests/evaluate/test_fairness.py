"""Group metrics, suppression and the label-bias decomposition."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from secondlook.evaluate.audit import decompose
from secondlook.evaluate.fairness import (
    GROUP_METRICS,
    _weighted,
    group_table,
    metricframe_point,
    proxy_statements,
    suppress,
)
from secondlook.evaluate.fairness_stage import fairness_json
from secondlook.evaluate.metrics import Scores
from secondlook.params import load_section
from tests.conftest import with_overrides


def _data(n: int, seed: int, fpr_b: float = 0.1) -> tuple[np.ndarray, Scores, np.ndarray]:
    """Two groups of equal size and base rate; group B's negatives are flagged at ``fpr_b``."""
    rng = np.random.default_rng(seed)
    groups = np.where(np.arange(n) % 2 == 0, "A", "B")
    y = (rng.random(n) < 0.2).astype(np.int64)
    p = np.clip(0.2 + 0.5 * y + rng.normal(0, 0.15, n), 0.001, 0.999)
    flag_neg = rng.random(n) < np.where(groups == "A", 0.1, fpr_b)
    flag = np.where(y == 1, rng.random(n) < 0.6, flag_neg)
    return y, Scores(p, flag.astype(bool)), groups


def test_metricframe_equals_masks_recomputed() -> None:
    y, s, g = _data(3000, 1)
    frame = metricframe_point(y, s, g)
    for group in ("A", "B"):
        m = g == group
        yy, ff, pp = y[m], s.flag[m], s.probability[m]
        expected = {
            "flag_rate": ff.mean(),
            "tpr": ff[yy == 1].mean(),
            "fpr": ff[yy == 0].mean(),
            "fnr": 1 - ff[yy == 1].mean(),
            "ppv": yy[ff].mean(),
            "auroc": roc_auc_score(yy, pp),
            "mean_predicted": pp.mean(),
            "observed": yy.mean(),
        }
        for metric, value in expected.items():
            assert frame.loc[group, metric] == pytest.approx(value, abs=1e-12), metric
        # the weighted form used by the bootstrap gives the same numbers at unit weights
        w = _weighted(np.ones((1, m.sum())), yy.astype(float), Scores(pp, ff))
        for metric in GROUP_METRICS:
            assert w[metric][0] == pytest.approx(frame.loc[group, metric], abs=1e-12), metric


def test_planted_disparity_is_found_and_its_absence_shows_parity() -> None:
    y, s, g = _data(6000, 2, fpr_b=0.2)
    t = group_table(y, {"m": s}, g, n_boot=200, seed=0, min_cell=10).set_index(["group", "metric"])
    fpr = t.loc[("B", "fpr")]
    assert fpr["ratio"] == pytest.approx(2.0, rel=0.2)
    assert fpr["ratio_lo"] > 1.25  # the whole interval is outside the band
    assert not fpr["in_band"]
    # without a planted disparity the whole interval of every ratio lies inside the band
    y, s, g = _data(20000, 3, fpr_b=0.1)
    t = group_table(y, {"m": s}, g, n_boot=200, seed=0, min_cell=10).set_index(["group", "metric"])
    for metric in ("flag_rate", "tpr", "fpr", "ppv", "auroc"):
        row = t.loc[("B", metric)]
        assert 0.8 <= row["ratio_lo"] <= row["ratio"] <= row["ratio_hi"] <= 1.25, metric
        assert row["in_band"]
        assert row["lo"] <= row["value"] <= row["hi"]


def test_suppression_is_complementary() -> None:
    den = pd.DataFrame({"n": [500, 5, 40, 300]}, index=["A", "B", "C", "D"])
    hidden = suppress(den, 10)
    assert hidden["n"].tolist() == [False, True, True, False]  # C hidden to protect B


def _small_group_table() -> tuple[pd.DataFrame, int]:
    y, s, g = _data(2000, 4)
    g = g.astype(object)
    g[:7] = "C"  # a group of 7 decisions
    return group_table(y, {"m": s}, g, n_boot=50, seed=0, min_cell=10), len(g)


def test_small_cells_never_appear_as_numbers() -> None:
    t, total = _small_group_table()
    c = t[t["group"] == "C"]
    assert c["suppressed"].all()
    assert c[["n", "value", "lo", "hi", "ratio", "ratio_lo", "ratio_hi"]].isna().all().all()
    # not through totals either: the published sizes leave at least two groups unknown
    published = t.drop_duplicates("group").dropna(subset=["n"])
    unknown = set(t["group"]) - set(published["group"])
    assert len(unknown) >= 2
    assert total - published["n"].sum() > 7


def test_fairness_json_writes_suppressed_never_a_number(raw_params: dict[str, Any]) -> None:
    cfg = load_section(
        "fairness", with_overrides(raw_params, {"fairness.labels": ["warrants_escalation"]})
    )
    t, _ = _small_group_table()
    by_group = t.assign(label="warrants_escalation", attribute="ethnicity")
    from secondlook.evaluate.audit import Audit

    content = fairness_json(Audit(by_group, []), pd.DataFrame(), cfg)
    cells = content["families"]["m"]["ethnicity"]["by_group"]["C"]
    assert cells["n"] == "suppressed"
    assert all(v == "suppressed" for k, v in cells.items())
    assert "7" not in json.dumps(cells)


def test_proxy_statement_when_the_proxy_misleads() -> None:
    y, s, g = _data(8000, 5, fpr_b=0.1)
    truth = group_table(y, {"m": s}, g, n_boot=200, seed=0, min_cell=10)
    # a proxy that is positive for B's flagged negatives makes B's PPV look higher
    proxy_y = y.copy()
    extra = (g == "B") & (y == 0) & s.flag & (np.arange(len(y)) % 3 != 0)  # most, not all
    proxy_y[extra] = 1
    proxy = group_table(proxy_y, {"m": s}, g, n_boot=200, seed=0, min_cell=10)
    out = proxy_statements({"truth": truth, "proxy": proxy}, truth_label="truth", attribute="toy")
    assert any("Measured against proxy," in x and "group B" in x for x in out)
    assert not any("`" in x for x in out)  # no code formatting in text a panel reads
    assert all(", 95% interval " in x for x in out)
    # the level is a setting (fairness.ci), never a constant of the text
    at90 = proxy_statements(
        {"truth": truth, "proxy": proxy}, truth_label="truth", attribute="toy", ci=0.9
    )
    assert at90 == [x.replace(", 95% interval ", ", 90% interval ") for x in out]
    assert not proxy_statements(
        {"truth": truth, "same": truth}, truth_label="truth", attribute="toy"
    )


def test_decomposition_adds_up(raw_params: dict[str, Any]) -> None:
    cfg = load_section("fairness", raw_params)
    rows = []
    for world, base in (("as_generated", 1.5), ("without_planted_bias", 1.1)):
        for label, factor in (
            ("warrants_escalation", 1.0),
            ("cp_plan_12m", 1.3),
            ("rereferral_12m", 0.9),
        ):
            rows.append(
                {
                    "world": world,
                    "trained_on": label,
                    "attribute": "ethnicity",
                    "model": "logreg",
                    "group": "Black",
                    "reference": "White",
                    "metric": "fpr",
                    "ratio": base * factor,
                }
            )
    d = decompose(pd.DataFrame(rows), cfg)
    assert set(d["proxy"]) == {"cp_plan_12m", "rereferral_12m"}
    total = d["from_label"] + d["from_world"] + d["remaining"]
    np.testing.assert_allclose(total, d["log_ratio_total"], atol=1e-12)
    cp = d[d["proxy"] == "cp_plan_12m"].iloc[0]
    assert cp["from_label"] == pytest.approx(np.log(1.3))
    assert cp["from_world"] == pytest.approx(np.log(1.5 / 1.1))
    assert cp["remaining"] == pytest.approx(np.log(1.1))


def test_no_small_count_follows_from_published_rates() -> None:
    """A group big enough to publish its size, with few positives: no rate may give them away."""
    rng = np.random.default_rng(7)
    n = 3000
    g = rng.choice(np.array(["A", "B", "C", "D"], dtype=object), size=n, p=[0.5, 0.2, 0.2, 0.1])
    y = (rng.random(n) < 0.2).astype(np.int64)
    y[(g == "D") & (np.cumsum(g == "D") > 4)] = 0  # group D: ~300 decisions, 4 positives
    p = np.clip(0.2 + 0.5 * y + rng.normal(0, 0.15, n), 0.001, 0.999)
    s = Scores(p, p > np.quantile(p, 0.85))
    t = group_table(y, {"m": s}, g, n_boot=20, seed=0, min_cell=10)
    d = t[t["group"] == "D"].set_index("metric")
    assert d.loc["mean_predicted", "n"] is not None  # the size itself is published
    for metric in ("observed", "tpr", "fnr", "ppv", "flag_rate", "fpr", "auroc"):
        assert d.loc[metric, "suppressed"], metric
    # complementary: one more group's rates are hidden, so D's counts do not follow from totals
    hidden_groups = set(t.loc[t["suppressed"] & (t["metric"] == "observed"), "group"])
    assert len(hidden_groups) >= 2
    # every published rate implies cells of at least min_cell decisions
    for group, rows in t[~t["suppressed"]].groupby("group"):
        r = rows.set_index("metric")["value"]
        if "observed" not in r:
            continue
        size = rows["n"].iloc[0]
        pos = r["observed"] * size
        flagged = r["flag_rate"] * size
        tp = r["tpr"] * pos
        for count in (pos, size - pos, flagged, tp, flagged - tp, pos - tp):
            assert round(count) >= 10, (group, count)


def test_parity_wording_for_a_wide_interval_is_too_uncertain() -> None:
    # a proxy ratio 1.03 whose interval 0.51-2.10 straddles the band is not "within the band"
    cols = ["model", "group", "metric", "ratio", "ratio_lo", "ratio_hi", "in_band", "suppressed"]
    cols += ["reference"]
    truth = pd.DataFrame(
        [["rules", "LA08", "ppv", 0.54, 0.33, 0.79, False, False, "LA05"]], columns=cols
    )
    proxy = pd.DataFrame(
        [["rules", "LA08", "ppv", 1.03, 0.51, 2.10, True, False, "LA05"]], columns=cols
    )
    out = proxy_statements(
        {"truth": truth, "cp_plan_12m": proxy}, truth_label="truth", attribute="local_authority"
    )
    assert len(out) == 1
    text = out[0]
    assert "too uncertain to say whether it is inside the parity band" in text
    assert "within the" not in text and "`" not in text and "cp_plan_12m" not in text
    assert "a child protection plan within 12 months" in text
    assert "against the truth it is outside the parity band" in text


def test_unknown_is_a_group_of_its_own_and_suppressed_when_small() -> None:
    """`unknown` (written, or a missing value) is one group; a small one carries no number."""
    y, scores, groups = _data(4000, seed=5)
    g = groups.astype(object)
    g[:6] = "unknown"
    g[6:9] = None  # not recorded at all: the same group
    t = group_table(y, {"m": scores}, g, n_boot=20, seed=1, min_cell=10)
    assert set(t["group"]) == {"A", "B", "unknown"}
    u = t[t["group"] == "unknown"]
    assert u["suppressed"].all() and u["value"].isna().all()
    # a large unknown group is reported like any other, recomputed with masks
    g2 = groups.astype(object)
    g2[: len(g2) // 3] = None
    point = metricframe_point(y, scores, g2)
    mask = np.asarray([v is None for v in g2])
    assert point.loc["unknown", "flag_rate"] == pytest.approx(scores.flag[mask].mean(), abs=1e-12)
