from enum import StrEnum


class ModerationDecidedTier(StrEnum):
    APPEAL = "appeal"
    CLASSIFIER = "classifier"
    HUMAN = "human"
    JUDGE = "judge"
    RULES = "rules"

    def __str__(self) -> str:
        return str(self.value)
