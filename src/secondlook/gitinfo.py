"""The git state of the code that produced an output (for provenance in runs and reports)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git_state"]


def git_state(cwd: Path, paths: tuple[str, ...] = ()) -> tuple[str, bool] | None:
    """The commit checked out at ``cwd`` and whether tracked files differ from it.

    Parameters
    ----------
    cwd
        A folder inside the checkout.
    paths
        Limit "differ" to these paths (relative to ``cwd``), e.g. the code and params: during
        ``dvc repro`` the lock file and metrics change, which says nothing about the code.

    Returns
    -------
    (str, bool) or None
        ``(commit, dirty)``, or None outside a git checkout (or without git).
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        status = git("status", "--porcelain", "--untracked-files=no", "--", *paths)
        return git("rev-parse", "HEAD"), bool(status)
    except (OSError, subprocess.CalledProcessError):
        return None
