from forgeline.standins.review_samples import changed_files
from services.codereview.changes import ChangedFile


def changed(path: str, new: str | None, old: str | None = None) -> ChangedFile:
    """A changed file as the orchestrator builds it, from its old and new text."""
    return changed_files({path: (old, new)})[0]
