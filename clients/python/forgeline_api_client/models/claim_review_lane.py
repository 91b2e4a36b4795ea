from enum import StrEnum


class ClaimReviewLane(StrEnum):
    APPEAL = "appeal"
    REVIEW = "review"

    def __str__(self) -> str:
        return str(self.value)
