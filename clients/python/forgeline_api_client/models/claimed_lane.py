from enum import StrEnum


class ClaimedLane(StrEnum):
    APPEAL = "appeal"
    REVIEW = "review"

    def __str__(self) -> str:
        return str(self.value)
