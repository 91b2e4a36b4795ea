from enum import StrEnum


class RuleMatchSeverity(StrEnum):
    BLOCK = "block"
    SIGNAL = "signal"

    def __str__(self) -> str:
        return str(self.value)
