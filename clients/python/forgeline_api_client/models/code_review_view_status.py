from enum import StrEnum


class CodeReviewViewStatus(StrEnum):
    COLLECTING = "collecting"
    POSTED = "posted"
    READY = "ready"

    def __str__(self) -> str:
        return str(self.value)
