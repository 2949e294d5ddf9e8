"""The pipeline outputs a report was built from, read from ``dvc.lock``.

The report's reproducibility section lists the hashes of the outputs it read. ``dvc.lock``
also holds stages that are not upstream of the report (``headline``, ``score``, the report's
own entry): DVC may run them after the report, so their hashes in the lock file at the
report's run are the previous run's, and listing them made the report show stale hashes and
a rerun of an unchanged report differ. Only the report's ancestors are listed: the stages
whose outputs the report's ``dvc.yaml`` dependencies name, and theirs, transitively, through
each stage's dependencies as ``dvc.lock`` records them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["report_ancestors", "upstream_outputs"]

#: when dvc.yaml has no ``report`` stage to read: the stages known not to be upstream
_NOT_UPSTREAM = ("report", "score", "headline")


def _overlaps(a: str, b: str) -> bool:
    """One path is the other or lies under it (a folder dependency and its files)."""
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def report_ancestors(stages: Mapping[str, Any], report_deps: Iterable[str]) -> set[str]:
    """The stages of ``stages`` (``dvc.lock``'s ``stages:``) upstream of ``report_deps``.

    Parameters
    ----------
    stages
        Stage name (``train@ebm`` for a foreach stage) -> its lock entry (``deps``, ``outs``).
    report_deps
        The report stage's dependency paths, relative to the repository.

    Returns
    -------
    set of str
        Every stage that produced one of the paths, and its own producers, transitively.
    """
    outs = [
        (str(o.get("path", "")), name)
        for name, body in stages.items()
        for o in (body or {}).get("outs") or []
    ]
    seen: set[str] = set()
    todo = [str(d) for d in report_deps]
    while todo:
        path = todo.pop()
        for out, name in outs:
            if name not in seen and _overlaps(out, path):
                seen.add(name)
                todo += [str(d.get("path", "")) for d in stages[name].get("deps") or []]
    return seen


def upstream_outputs(lock_path: Path) -> list[tuple[str, str, str]]:
    """``(stage, output, md5)`` of every output upstream of the report, sorted by stage.

    Parameters
    ----------
    lock_path
        ``dvc.lock``; the report's dependencies are read from ``dvc.yaml`` beside it.

    Returns
    -------
    list of (stage, output path, md5)
        When ``dvc.yaml`` has no ``report`` stage, every stage but the ones never upstream
        of it (report, score, headline).
    """
    lock = yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}
    stages: dict[str, Any] = lock.get("stages") or {}
    pipeline = lock_path.parent / "dvc.yaml"
    spec = yaml.safe_load(pipeline.read_text(encoding="utf-8")) if pipeline.is_file() else None
    report = ((spec or {}).get("stages") or {}).get("report")
    if report and report.get("deps"):
        keep = report_ancestors(stages, (str(d) for d in report["deps"]))
    else:
        keep = {s for s in stages if s not in _NOT_UPSTREAM}
    return [
        (stage, str(out.get("path", "")), str(out.get("md5") or out.get("hash") or ""))
        for stage, body in sorted(stages.items())
        if stage in keep
        for out in (body or {}).get("outs") or []
    ]
