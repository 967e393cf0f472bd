"""Definition problems: every one names the file, the line and the path of the offending value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

MAX_PROBLEMS = 200
"""Problems shown at most; the rest are counted (a runaway document could make millions)."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a definition pack, printed as `file:line: path: message`."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class DefinitionError(Exception):
    """Raised by the loader with every problem found in one phase, not just the first.

    Beyond `MAX_PROBLEMS`, the problems are cut there and a last one says how many more
    there are, so that every place showing `problems` shows the count too.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        kept = list(problems)
        self.omitted = max(len(kept) - MAX_PROBLEMS, 0)
        """How many problems were found beyond the ones kept."""
        if self.omitted:
            first_left_out = kept[MAX_PROBLEMS]
            kept = kept[:MAX_PROBLEMS] + [Problem(
                first_left_out.file, first_left_out.line, "$",
                f"and {self.omitted:,} more problem(s) not shown: fix the ones above and validate again")]
        self.problems: tuple[Problem, ...] = tuple(kept)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
