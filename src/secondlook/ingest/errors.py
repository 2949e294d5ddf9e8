"""The one error an importer raises: the input is refused, naming file, child and element."""

from __future__ import annotations

from secondlook.errors import SecondlookError

__all__ = ["ImportRefused"]


class ImportRefused(SecondlookError, ValueError):
    """An input file cannot be imported; nothing was written.

    The message names the file, the line (XML) or sheet and row (workbook), the child when it is
    known, and the element or column. Subclasses ``ValueError`` in this one place so it can
    become a subclass of the package's error base with a one-line change.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        where: str | None = None,
        child: str | None = None,
        element: str | None = None,
    ) -> None:
        self.file, self.problem = file, problem
        self.where, self.child, self.element = where, child, element
        parts = [f"file `{file}`"]
        if where:
            parts.append(where)
        if child:
            parts.append(f"child `{child}`")
        if element:
            parts.append(f"element `{element}`")
        super().__init__(f"{', '.join(parts)}: {problem}")
