import difflib

from services.codereview.changes import ChangedFile


def changed(path: str, new: str | None, old: str | None = None) -> ChangedFile:
    """A changed file as the orchestrator builds it, from its old and new text."""
    diff = list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=3))[2:]
    status = "added" if old is None else "removed" if new is None else "modified"
    return ChangedFile.of(path, status, "\n".join(diff), new)
