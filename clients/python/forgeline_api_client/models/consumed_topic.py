from enum import StrEnum


class ConsumedTopic(StrEnum):
    BENCH_IN = "bench.in"
    CART_ABANDONED = "cart.abandoned"
    CONTENT_SUBMITTED = "content.submitted"
    ECHO_REQUESTED = "echo.requested"
    EMAIL_OUTBOUND = "email.outbound"
    IMAGE_CANCEL = "image.cancel"
    IMAGE_REQUESTED = "image.requested"
    MODERATION_TIER2 = "moderation.tier2"
    MODERATION_TIER3 = "moderation.tier3"
    REVIEW_FINDINGS = "review.findings"
    REVIEW_READY = "review.ready"
    REVIEW_REQUESTED = "review.requested"
    REVIEW_TASKS = "review.tasks"

    def __str__(self) -> str:
        return str(self.value)
