"""What an import did: input hashes, counts in and out, every repair, drop and warning."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from secondlook.fileio import file_sha256

__all__ = ["Findings", "file_sha256"]

#: how many examples of each repair, drop or warning the manifest lists
EXAMPLES = 5


@dataclasses.dataclass
class Findings:
    """Counters an importer fills while it reads; the manifest is made from them.

    Attributes
    ----------
    counts_in
        Elements (or rows) read, by element (``Child``, ``CINdetails``, ...).
    repairs, drops, warnings
        Kind -> how many times a documented rule repaired a value, dropped a record, or noted
        something that needed no change.
    examples
        Kind -> the first few places (``file:line child X``) where it happened.
    """

    counts_in: Counter[str] = dataclasses.field(default_factory=Counter)
    repairs: Counter[str] = dataclasses.field(default_factory=Counter)
    drops: Counter[str] = dataclasses.field(default_factory=Counter)
    warnings: Counter[str] = dataclasses.field(default_factory=Counter)
    examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def _note(self, counter: Counter[str], kind: str, where: str, n: int) -> None:
        counter[kind] += n
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES:
            shown.append(where)

    def repair(self, kind: str, where: str, n: int = 1) -> None:
        """Count a value repaired by the documented rule ``kind``."""
        self._note(self.repairs, kind, where, n)

    def drop(self, kind: str, where: str, n: int = 1) -> None:
        """Count a record dropped by the documented rule ``kind``."""
        self._note(self.drops, kind, where, n)

    def warn(self, kind: str, where: str, n: int = 1) -> None:
        """Count something accepted as sent but worth knowing (e.g. a retired code)."""
        self._note(self.warnings, kind, where, n)

    def many(self, block: str, kind: str, wheres: list[str]) -> None:
        """Count ``len(wheres)`` findings of ``kind`` in ``block`` (repairs, drops, warnings)."""
        counter: Counter[str] = getattr(self, block)
        counter[kind] += len(wheres)
        if wheres:
            shown = self.examples.setdefault(kind, [])
            shown.extend(wheres[: max(0, EXAMPLES - len(shown))])

    def as_dict(self) -> dict[str, Any]:
        """The findings as plain JSON-able dicts, keys sorted."""

        def block(counter: Counter[str]) -> dict[str, Any]:
            return {
                k: {"count": counter[k], "examples": self.examples.get(k, [])}
                for k in sorted(counter)
                if counter[k]
            }

        return {
            "counts_in": dict(sorted(self.counts_in.items())),
            "repairs": block(self.repairs),
            "drops": block(self.drops),
            "warnings": block(self.warnings),
        }
