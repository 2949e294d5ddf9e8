"""The one bootstrap of the package: multinomial resampling weights, drawn in chunks.

A bootstrap replicate of n rows is a vector of counts (how often each row is drawn), a
multinomial draw of n over n equally likely rows. A weighted metric over these counts equals the
metric on the resampled rows, so every statistic (AUROC, recall at practice's workload, a
group's flag rate) is computed from the same weights without copying rows. Drawing in chunks
bounds memory at ``chunk x n`` floats; the draws do not depend on the chunk size, so a seed
gives the same replicates whichever caller (and chunk) asks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

__all__ = ["weight_chunks", "bootstrap_weights"]

FloatArray = npt.NDArray[np.float64]


def weight_chunks(n: int, n_boot: int, seed: int, chunk: int = 100) -> Iterator[FloatArray]:
    """Bootstrap weights in chunks of at most ``chunk`` replicates.

    Parameters
    ----------
    n
        Rows resampled (each replicate draws ``n`` rows with replacement).
    n_boot
        Replicates in all.
    seed
        Seed of ``numpy.random.default_rng``.
    chunk
        Replicates per yielded array.

    Yields
    ------
    numpy.ndarray
        Shape (size, n), float64 counts; each row sums to ``n``; sizes add up to ``n_boot``.
    """
    rng = np.random.default_rng(seed)
    p = np.full(n, 1.0 / n)
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        yield rng.multinomial(n, p, size=size).astype(np.float64)
        done += size


def bootstrap_weights(n: int, n_boot: int, seed: int) -> FloatArray:
    """All ``n_boot`` replicates at once: shape (n_boot, n), as :func:`weight_chunks` draws them."""
    return np.concatenate(list(weight_chunks(n, n_boot, seed))) if n_boot else np.zeros((0, n))
