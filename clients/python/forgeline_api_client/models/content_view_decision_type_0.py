from enum import StrEnum


class ContentViewDecisionType0(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"

    def __str__(self) -> str:
        return str(self.value)
