from enum import StrEnum


class ReviewDecisionLane(StrEnum):
    APPEAL = "appeal"
    REVIEW = "review"

    def __str__(self) -> str:
        return str(self.value)
