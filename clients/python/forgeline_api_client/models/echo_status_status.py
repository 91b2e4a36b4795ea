from enum import StrEnum


class EchoStatusStatus(StrEnum):
    DONE = "done"
    QUEUED = "queued"

    def __str__(self) -> str:
        return str(self.value)
