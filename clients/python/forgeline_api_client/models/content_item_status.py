from enum import StrEnum


class ContentItemStatus(StrEnum):
    APPEALED = "appealed"
    DECIDED = "decided"
    IN_REVIEW = "in_review"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
