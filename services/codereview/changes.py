"""A changed file as the agents see it: its patch, its full new text and the new-file numbers
of the lines the pull request added or changed (the only lines a finding may point at)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from services.codereview.diff import added_lines
from services.codereview.plan import is_doc, is_lockfile


@dataclass(frozen=True)
class ChangedFile:
    """One file of a pull request at its head SHA."""

    path: str
    status: str
    patch: str | None
    text: str | None  # None: binary, too large, or not fetched
    added: frozenset[int]

    @classmethod
    def of(cls, path: str, status: str, patch: str | None, text: str | None) -> ChangedFile:
        """Build one, mapping the patch's hunks to new-file line numbers."""
        return cls(path, status, patch, text, frozenset(added_lines(patch)) if patch else frozenset())

    @property
    def is_python(self) -> bool:
        """A Python source file with text to analyse."""
        return self.path.endswith(".py") and self.text is not None

    @property
    def is_test(self) -> bool:
        """A test file, by the usual conventions (tests/ folders, test_*.py, *_test.py, conftest.py)."""
        p = PurePosixPath(self.path)
        return (
            p.name.startswith("test_")
            or p.stem.endswith("_test")
            or p.name == "conftest.py"
            or any(part in ("tests", "test") for part in p.parts[:-1])
        )

    @property
    def is_doc(self) -> bool:
        """Documentation (README, docs/, *.md ...)."""
        return is_doc(self.path) or PurePosixPath(self.path).stem.upper() == "README"

    @property
    def is_lockfile(self) -> bool:
        """A generated dependency lock file."""
        return is_lockfile(self.path)

    def lines(self) -> list[str]:
        """The new text's lines (empty without text)."""
        return self.text.splitlines() if self.text is not None else []

    def added_text(self) -> list[tuple[int, str]]:
        """(line number, text) of every added line, in order."""
        lines = self.lines()
        return [(n, lines[n - 1]) for n in sorted(self.added) if 0 < n <= len(lines)]

    def first_added(self) -> int | None:
        """The first added line, where a file-level finding is anchored."""
        return min(self.added) if self.added else None
