from enum import StrEnum


class RuleMatchActionType0(StrEnum):
    ALLOW = "allow"
    LABEL = "label"
    REJECT = "reject"
    REVIEW = "review"

    def __str__(self) -> str:
        return str(self.value)
