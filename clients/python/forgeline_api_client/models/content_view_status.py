from enum import StrEnum


class ContentViewStatus(StrEnum):
    APPEALED = "appealed"
    DECIDED = "decided"
    IN_REVIEW = "in_review"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
