"""The one bootstrap: multinomial weights, the same replicates whatever the chunk size."""

from __future__ import annotations

import numpy as np

from secondlook.evaluate.resample import bootstrap_weights, weight_chunks


def test_weights_are_resampling_counts() -> None:
    W = bootstrap_weights(40, 250, seed=7)
    assert W.shape == (250, 40)
    assert np.array_equal(W.sum(axis=1), np.full(250, 40.0))
    assert (W >= 0).all() and np.array_equal(W, np.round(W))
    # each row is drawn once per replicate on average
    assert abs(W.mean() - 1.0) < 1e-12


def test_chunks_do_not_change_the_replicates() -> None:
    whole = bootstrap_weights(30, 230, seed=3)
    for chunk in (1, 100, 200, 1000):
        parts = list(weight_chunks(30, 230, seed=3, chunk=chunk))
        assert all(len(p) <= chunk for p in parts)
        assert np.array_equal(np.concatenate(parts), whole)
    assert not np.array_equal(bootstrap_weights(30, 230, seed=4), whole)


def test_the_weights_are_numpys_multinomial_draws() -> None:
    """The replicates every interval in evaluate/ rests on, drawn as before this module."""
    rng = np.random.default_rng(11)
    expected = rng.multinomial(25, np.full(25, 1 / 25), size=60).astype(np.float64)
    assert np.array_equal(bootstrap_weights(25, 60, seed=11), expected)
    assert bootstrap_weights(25, 0, seed=11).shape == (0, 25)
