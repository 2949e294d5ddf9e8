"""Formatting for the report: every number it shows goes through one of these functions.

Also :func:`json_tables`, which lays out any JSON a stage wrote as tables without knowing its
exact shape, so a stage can add a metric without the report having to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from secondlook.fileio import png_data_uri
from secondlook.report import plots
from secondlook.report.labels import COUNT_KEYS, plain
from secondlook.report.model import Table

__all__ = [
    "cell",
    "family_name",
    "finite",
    "fmt_interval",
    "fmt_level",
    "fmt_num",
    "fmt_points",
    "fmt_share",
    "json_tables",
    "png_file",
    "row_iv",
]


def finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def fmt_num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; "not computed" for a missing or non-finite value."""
    return f"{float(x):.{digits}f}" if finite(x) else "not computed"


def fmt_share(x: Any, digits: int = 0) -> str:
    """A share as a percentage ("12%"); "not computed" when missing."""
    return f"{100 * float(x):.{digits}f}%" if finite(x) else "not computed"


def fmt_level(ci: float) -> str:
    """An interval's level as a percentage ("95%" for 0.95, "90%" for 0.9)."""
    return f"{100 * float(ci):g}%"


def fmt_interval(v: Any, lo: Any, hi: Any, *, share: bool = False, digits: int = 2) -> str:
    """An estimate with its interval in words: ``0.75 (0.59 to 0.98)``."""
    f = (lambda x: fmt_share(x, max(digits - 2, 0))) if share else (lambda x: fmt_num(x, digits))
    if not finite(v):
        return "not computed"
    if not (finite(lo) and finite(hi)):
        return f(v)
    return f"{f(v)} ({f(lo)} to {f(hi)})"


def row_iv(row: Mapping[Any, Any], key: str, **kw: Any) -> str:
    return fmt_interval(row.get(key), row.get(f"{key}_lo"), row.get(f"{key}_hi"), **kw)


def family_name(f: str) -> str:
    return plots.FAMILY_LABELS.get(f, f)


def cell(x: Any, none_text: str, key: str = "") -> str:
    """One JSON value as table text; ``key`` (its JSON key) marks counts and code values."""
    if x is None:
        return none_text
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int | float) and key in COUNT_KEYS and float(x).is_integer():
        return f"{int(x):,}"
    if isinstance(x, float):
        return fmt_num(x, 3) if math.isfinite(x) else none_text
    if isinstance(x, list | tuple):
        return ", ".join(cell(v, none_text) for v in x)
    if isinstance(x, dict):
        return "; ".join(f"{plain(k)}: {cell(v, none_text, str(k))}" for k, v in x.items())
    return plain(x) if isinstance(x, str) else str(x)


def merge_intervals(keys: list[str]) -> list[str]:
    """Column keys with ``x_lo``/``x_hi`` folded into ``x`` when all three are present."""
    ks = set(keys)
    return [k for k in keys if not ((k.endswith("_lo") or k.endswith("_hi")) and k[:-3] in ks)]


def records_table(
    records: Sequence[Mapping[str, Any]], caption: str, none_text: str, row_headers: bool = True
) -> Table:
    keys: list[str] = []
    for r in records:
        keys += [k for k in r if k not in keys]
    shown = merge_intervals(keys)
    rows = []
    for r in records:
        cells = []
        for k in shown:
            v = r.get(k)
            if f"{k}_lo" in keys and finite(v):
                cells.append(fmt_interval(v, r.get(f"{k}_lo"), r.get(f"{k}_hi"), digits=3))
            else:
                cells.append(cell(v, none_text, k))
        rows.append(tuple(cells))
    cols = tuple(plain(k) for k in shown)
    return Table(caption=caption, columns=cols, rows=tuple(rows), row_headers=row_headers)


def json_tables(obj: Any, caption: str, *, none_text: str = "not computed") -> list[Table]:
    """Lay out any JSON a stage wrote as tables, without knowing its exact shape.

    Lists of records become one table each; a mapping of records (``{"logreg": {...}}``)
    becomes a table with one row per key; scalars at one level are gathered into a two-column
    table; deeper levels recurse with the keys joined into the caption. ``x_lo``/``x_hi`` beside
    ``x`` are shown as one cell, "x (lo to hi)".

    Parameters
    ----------
    obj
        Parsed JSON.
    caption
        Caption of the top level.
    none_text
        What a ``null`` reads as (the fairness section says "suppressed").

    Returns
    -------
    list of Table
    """
    out: list[Table] = []
    if isinstance(obj, list):
        if obj and all(isinstance(r, dict) for r in obj):
            flat = [{k: v for k, v in r.items() if not isinstance(v, dict | list)} for r in obj]
            if any(flat):
                out.append(records_table(flat, caption, none_text))
            for i, r in enumerate(obj):
                for k, v in r.items():
                    if isinstance(v, dict | list) and v:
                        name = r.get("name") or r.get("group") or r.get("family") or str(i + 1)
                        out += json_tables(
                            v, f"{caption} › {plain(name)} › {plain(k)}", none_text=none_text
                        )
        elif obj:
            out.append(Table(caption, ("value",), tuple((cell(v, none_text),) for v in obj), False))
        return out
    if not isinstance(obj, dict):
        return [Table(caption, ("value",), ((cell(obj, none_text),),), False)]
    scalars = {k: v for k, v in obj.items() if not isinstance(v, dict | list)}
    nested = {k: v for k, v in obj.items() if isinstance(v, dict | list)}
    if scalars:
        keys = merge_intervals(list(scalars))
        rows = tuple(
            (
                plain(k),
                fmt_interval(scalars[k], scalars.get(f"{k}_lo"), scalars.get(f"{k}_hi"), digits=3)
                if f"{k}_lo" in scalars and finite(scalars[k])
                else cell(scalars[k], none_text, k),
            )
            for k in keys
        )
        out.append(Table(caption, ("item", "value"), rows))
    record_like = [
        k
        for k, v in nested.items()
        if isinstance(v, dict) and v and not any(isinstance(x, dict | list) for x in v.values())
    ]
    if len(record_like) >= 2:
        recs: list[dict[str, Any]] = [{"": k, **dict(nested[k])} for k in record_like]
        out.append(records_table(recs, caption, none_text))
        nested = {k: v for k, v in nested.items() if k not in record_like}
    for k, v in nested.items():
        out += json_tables(v, f"{caption} › {plain(k)}", none_text=none_text)
    return out


def png_file(path: Path) -> str:
    """A PNG file on disk as a ``data:`` URI (the report embeds every image)."""
    return png_data_uri(path.read_bytes())


def fmt_points(v: Any, lo: Any, hi: Any) -> str:
    """A difference of two shares in percentage points: ``+13 percentage points (8 to 17)``.

    Parameters
    ----------
    v, lo, hi
        The difference and its interval as fractions (0.13 is 13 percentage points).

    Returns
    -------
    str
        "not computed" when ``v`` is missing; without the interval when it is.
    """
    if not finite(v):
        return "not computed"
    text = f"{100 * float(v):+.0f} percentage points"
    if finite(lo) and finite(hi):
        text += f" ({100 * float(lo):+.0f} to {100 * float(hi):+.0f})"
    return text
