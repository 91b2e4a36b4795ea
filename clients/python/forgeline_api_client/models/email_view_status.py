from enum import StrEnum


class EmailViewStatus(StrEnum):
    CAPPED = "capped"
    SENDING = "sending"
    SENT = "sent"
    SUPPRESSED = "suppressed"

    def __str__(self) -> str:
        return str(self.value)
