"""The provenance manifest written beside every scored cohort, and atomic writes.

The manifest says what went in (each input file's SHA-256 and row counts), what came out
(referrals scored, flagged and rejected by reason), with which model (name, version, content
hash, threshold) and which settings. Everything that changes from one identical run to the next
-- the start time, the seconds taken, the code version and the host -- sits under one ``run``
key, so ``del manifest["run"]`` leaves a document that is byte-identical across reruns, and the
scored parquet itself holds no time at all.
"""

from __future__ import annotations

import platform
from pathlib import Path

from secondlook.gitinfo import git_state
from secondlook.models import file_sha256

__all__ = ["code_version", "input_hashes"]


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
