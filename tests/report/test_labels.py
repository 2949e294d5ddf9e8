"""secondlook.report.labels: the sentence that says which model ranks better."""

from __future__ import annotations

from secondlook.report.labels import price_sentence


def test_price_sentence_says_which_model_ranks_better() -> None:
    p = {"metric": "auprc", "family": "ebm", "gbm_minus_family": 0.037, "lo": 0.021, "hi": 0.054}
    assert price_sentence(p).startswith("The black-box reference model ranks better than")
    assert "AUPRC is higher by 0.037" in price_sentence(p)
    p.update(gbm_minus_family=-0.02, lo=-0.03, hi=-0.01)
    assert price_sentence(p).startswith("The best interpretable model, ebm")
    assert "ranks better than the black-box" in price_sentence(p)
    p.update(gbm_minus_family=0.01, lo=-0.01, hi=0.03)
    assert "rank about equally well" in price_sentence(p)
