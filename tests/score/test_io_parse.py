"""Converting a batch's columns to the contract's types (``score.io._parse``)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from secondlook.score.io import _parse

#: every code point Unicode calls whitespace, and some that look blank but are not
_SPACES = [chr(c) for c in range(0x3000 + 1) if chr(c).isspace()]
_NOT_SPACES = ["\u200b", "\u2060", "\ufeff", "a", "0", "_", "-"]


def test_a_cell_of_whitespace_is_missing_and_nothing_else_is() -> None:
    values = ["", *_SPACES, " \t\n ", "".join(_SPACES), *_NOT_SPACES, " a ", None]
    out, ok = _parse("text", pa.array(values, pa.large_string()))
    assert ok is None
    # the oracle: a value that trims to nothing
    trimmed = pc.utf8_trim_whitespace(pa.array(values, pa.large_string()))
    expected = [
        None if v is None or t == "" else v
        for v, t in zip(values, trimmed.to_pylist(), strict=True)
    ]
    assert out.to_pylist() == expected
    assert out.null_count == 1 + len(_SPACES) + 3
    assert out.type == pa.string()
