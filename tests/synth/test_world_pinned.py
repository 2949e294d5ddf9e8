"""The simulator's output is pinned: a tiny world's tables hash to the values recorded before the
simulator was split into steps (issue 11). A change here means the default world changed: that
must be deliberate, and then dvc.lock's generate outputs change too.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from secondlook.params import SynthParams
from secondlook.synth import simulate
from secondlook.synth.tables import to_tables
from secondlook.synth.world import World

#: sha256 of each table of a 600-household world (seed synth.seed), and of its cohort twin
#: (seed synth.cohort_seed, no panels, unlabelled), as the one-function simulator made them
PINNED = {
    "labelled": {
        "households": "b6e01001c9154e4979dc94dff3394ecd6a9b6ff5feff85081cb8f29834068989",
        "people": "abeedefb2e960378d7ac198b0e306455f6e3ea5adc7b2c9cb3c8c1934637f64f",
        "events": "cc6f7449c7c3e35ad3713718b386ff51609e2047d50fe1ec3bd2ec1f78448cbc",
        "decisions": "b609607d0704350208bce78769fad522b427fe52000f7cfb797ca97dc3390f1a",
        "truth": "61f40d4a4bbaf42dd3134a3f0d7c91642eb2972ddc9ea30fdc5471d603b19380",
    },
    "cohort": {
        "households": "58031906f1c86fccfba3ff9128f84e4aba15ea6935501bca81f96a648c19f61d",
        "people": "522e7882fafdd452f3b9dd556fa01be29819d0f61df1b15028854c5c64478dbd",
        "events": "0d2dbf634059730a02ee3f74e3e8c1a5ee76db72b2cd9a8364e3085b006e1e14",
    },
}

#: world_sha256 of the labelled world's arrays
PINNED_ARRAYS = {
    "households": "6230caa366468d1a58d2074a26244c0e55afdfaa9a76e350da2d04e8a6f1e289",
    "people": "bb113bc21d6793a03bff3bab08be9fdd0987a1d56f55f4b1da3c06c0feecc772",
    "events": "4c072f2cd4be8d51a7ec518136e1c60726f92d960be08352f7fa99b5c00a7dc5",
    "referrals": "d3dc10156454c501104fd61ab3f7f0bb41327e26c7237d5acf57e3bb41c71c97",
    "children": "0777574b2d325c8944a35c6680e59f151bf54c2466488922cc23bd041e100aa5",
    "diagnostics": "7b6b37f6c46094492ce4ef515158347a220aa7ae9f894494b72c17671abf5511",
}


def table_sha256(df: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, dtypes and every row's values (not of a file format)."""
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def tiny_tables(params: SynthParams, which: str) -> dict[str, pd.DataFrame]:
    if which == "labelled":
        return to_tables(simulate(params, params.seed, 600), params)
    world = simulate(params, params.cohort_seed, 600, keep_panels=False)
    return to_tables(world, params, labelled=False)


def world_sha256(world: World) -> dict[str, str]:
    """SHA-256 of each array group of a :class:`World` (names, dtypes, shapes and bytes)."""
    out = {}
    for group in ("households", "people", "events", "referrals", "children", "diagnostics"):
        h = hashlib.sha256()
        for name, arr in sorted(getattr(world, group).items()):
            a = np.ascontiguousarray(arr)
            h.update(f"{name}:{a.dtype}:{a.shape}".encode())
            h.update(a.tobytes())
        out[group] = h.hexdigest()
    return out


def test_tiny_world_arrays_are_the_pinned_ones(synth_params: SynthParams) -> None:
    # the panels and diagnostics feed truth and the calibration summary, not only the tables
    assert world_sha256(simulate(synth_params, synth_params.seed, 600)) == PINNED_ARRAYS


@pytest.mark.parametrize("which", list(PINNED))
def test_tiny_world_is_byte_identical_to_the_pinned_one(synth_params: SynthParams, which) -> None:
    got = {name: table_sha256(df) for name, df in tiny_tables(synth_params, which).items()}
    assert got == PINNED[which]
