"""The one place that writes files the same way every time: JSON, atomic writes, PNG figures.

- JSON: :func:`json_ready` makes a value JSON-safe (NaN and infinities become ``null``, numpy
  scalars and arrays Python values, tuples lists); :func:`json_text` formats it with a two-space
  indent and a final newline; :func:`write_json` writes it atomically.
- Atomic writes: :func:`write_atomically` writes into a temporary file beside the target and
  renames it into place, so a reader (or DVC) never sees half a file, and a failure leaves
  nothing behind. The file gets the usual mode of a new file, not ``mkstemp``'s ``0o600``.
  :func:`staged_folder` does the same for a folder of files written together.
- Figures: :func:`figure_png` encodes a matplotlib Figure as PNG bytes without ``Software`` or
  date metadata (the same figure gives the same bytes) and closes it;
  :func:`png_data_uri` and :func:`save_png` build on it.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "file_sha256",
    "json_ready",
    "json_text",
    "write_json",
    "write_atomically",
    "staged_folder",
    "default_file_mode",
    "figure_png",
    "png_data_uri",
    "save_png",
]


def file_sha256(path: str | Path, before_block: Callable[[int], None] | None = None) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (the hash every manifest records).

    ``before_block`` is called with the byte offset of each block before it is read (it may
    wait, or raise to give up).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    h, pos = hashlib.sha256(), 0
    with Path(path).open("rb") as fh:
        while True:
            if before_block is not None:
                before_block(pos)
            if not (block := fh.read(1 << 20)):
                return h.hexdigest()
            h.update(block)
            pos += len(block)


def json_ready(x: Any) -> Any:
    """A JSON-safe copy of ``x``: NaN/inf -> ``None``, numpy -> Python, tuples -> lists.

    Parameters
    ----------
    x
        Nested dicts, lists, tuples, numpy arrays and scalars, Python scalars.

    Returns
    -------
    object
        The same structure made of dict, list, str, int, float (finite), bool and None.
    """
    if isinstance(x, dict):
        return {k: json_ready(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_ready(v) for v in x]
    if isinstance(x, np.ndarray):
        return [json_ready(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def json_text(obj: Any, *, sort_keys: bool = False) -> str:
    """``obj`` as JSON text: :func:`json_ready`, two-space indent, final newline.

    Raises
    ------
    TypeError
        If ``obj`` holds a value JSON cannot represent (a bug in the caller).
    """
    return json.dumps(json_ready(obj), indent=2, sort_keys=sort_keys, allow_nan=False) + "\n"


def _umask() -> int:
    """The process's umask, read without changing it where the system allows.

    ``os.umask`` can only be read by setting it, and for that moment a file created by another
    thread (Arrow's, dask's) would get the wrong mode; Linux reports it in ``/proc``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666`` less the umask (usually ``0o644``)."""
    return 0o666 & ~_umask()


def write_atomically(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside it, then rename it into place.

    Parameters
    ----------
    path
        The target; its parent folders are created.
    data
        Text (written as UTF-8) or bytes.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.fchmod(fh.fileno(), default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """A temporary folder to write a folder's files into, moved into ``out`` only when all are.

    The temporary folder is made beside ``out`` (the same file system). When the ``with`` block
    ends without an error, each of its entries replaces the entry of the same name in ``out``
    (created if missing; an existing sub-folder of that name is removed first), in name order,
    with :func:`os.replace`; other entries of ``out`` are left as they are. On an error nothing
    is moved. The temporary folder is removed either way.

    Yields
    ------
    pathlib.Path
        The temporary folder.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        out.mkdir(parents=True, exist_ok=True)
        for entry in sorted(tmp.iterdir()):
            if entry.is_dir() and (out / entry.name).is_dir():
                shutil.rmtree(out / entry.name)
            os.replace(entry, out / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, obj: Any, *, sort_keys: bool = False) -> Path:
    """Write ``obj`` as :func:`json_text` to ``path``, atomically."""
    return write_atomically(path, json_text(obj, sort_keys=sort_keys))


def figure_png(fig: Figure, *, dpi: int = 110, tight: bool = True) -> bytes:
    """Encode ``fig`` as PNG bytes and close it.

    Parameters
    ----------
    fig
        The figure; it is closed afterwards, also on error.
    dpi
        Resolution.
    tight
        Crop to the drawn content (``bbox_inches="tight"``).

    Returns
    -------
    bytes
        The PNG. It carries no ``Software`` or date metadata, so the same figure always gives
        the same bytes.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(
            buf,
            format="png",
            dpi=dpi,
            bbox_inches="tight" if tight else None,
            metadata={"Software": None},
        )
    finally:
        plt.close(fig)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,…`` URI (for a self-contained HTML page)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def save_png(fig: Figure, path: str | Path, *, dpi: int = 110, tight: bool = True) -> Path:
    """Write ``fig`` as a PNG (:func:`figure_png`) to ``path``, atomically, and close it."""
    return write_atomically(path, figure_png(fig, dpi=dpi, tight=tight))


def csv_lines(path: Path, delimiter: str, rows: Sequence[int]) -> dict[int, int]:
    """The line of a CSV file on which each of ``rows`` (0-based data rows) starts.

    The header is line 1; blank lines are not data rows (as Arrow's CSV reader skips them),
    and a quoted field spanning lines counts each of its lines. A row past the end is left
    out of the result.

    Parameters
    ----------
    path, delimiter
        The file and its field separator.
    rows
        Data rows, 0-based, in file order.

    Returns
    -------
    dict of int to int
        Data row -> its first line (1-based).
    """
    wanted, found = set(rows), {}
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        start, k = reader.line_num + 1, 0
        for record in reader:
            if record:
                if k in wanted:
                    found[k] = start
                    if len(found) == len(wanted):
                        break
                k += 1
            start = reader.line_num + 1
    return found
