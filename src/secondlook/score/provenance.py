"""The provenance manifest written beside every scored cohort, and atomic writes.

The manifest says what went in (each input file's SHA-256 and row counts), what came out
(referrals scored, flagged and rejected by reason), with which model (name, version, content
hash, threshold) and which settings. Everything that changes from one identical run to the next
-- the start time, the seconds taken, the code version and the host -- sits under one ``run``
key, so ``del manifest["run"]`` leaves a document that is byte-identical across reruns, and the
scored parquet itself holds no time at all.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from secondlook.gitinfo import git_state
from secondlook.models import file_sha256

__all__ = ["code_version", "default_file_mode", "input_hashes", "write_json_atomically"]


def code_version() -> dict[str, str]:
    """The package version and, in a git checkout, the commit and whether it is dirty."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg = version("secondlook")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        pkg = "unknown"
    out = {"package": pkg, "git_commit": "unknown", "git_dirty": "unknown"}
    state = git_state(Path(__file__).resolve().parent)
    if state is not None:
        out.update(git_commit=state[0], git_dirty=str(state[1]).lower())
    return out


def input_hashes(paths: dict[str, Path]) -> dict[str, dict[str, str]]:
    """``{table: {"path", "sha256", "format"}}`` for the cohort's files."""
    return {
        name: {"path": str(p), "format": p.suffix.lstrip("."), "sha256": file_sha256(p)}
        for name, p in sorted(paths.items())
    }


def host() -> dict[str, str]:
    """Where the run happened (python and platform; no user or host names)."""
    return {"python": platform.python_version(), "platform": platform.platform(terse=True)}


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
    """The mode ``open()`` gives a new file: ``0o666`` less the umask (usually ``0o644``).

    ``tempfile.mkstemp`` creates its files ``0o600``; an output renamed from one gets this
    mode first, so it reads like any other file the user writes.
    """
    return 0o666 & ~_umask()


def write_json_atomically(obj: dict[str, Any], path: Path) -> None:
    """Write ``obj`` as JSON to a temporary file beside ``path``, then rename it into place.

    The file gets the usual mode for a new file (:func:`default_file_mode`), not
    ``mkstemp``'s ``0o600``.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
            os.fchmod(fh.fileno(), default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
