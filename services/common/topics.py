"""The topic registry: every topic name in the platform, with its contract and partitions.

No string topic names elsewhere. Retry and dead-letter topics derive from their source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from services.common.events import (
    AgentReport,
    BenchPing,
    CartAbandoned,
    CodeReviewRequested,
    ContentSubmitted,
    EchoCompleted,
    EchoRequested,
    EmailDelivered,
    EmailFailed,
    EmailOutbound,
    Event,
    ImageCancelRequested,
    ImageCompleted,
    ImageFailed,
    ImageRequested,
    ImageStatusChanged,
    ModerationDecided,
    ModerationTask,
    ReviewAgent,
    ReviewPosted,
    ReviewReady,
    ReviewRequested,
    ReviewTask,
)

RETRY_SUFFIX = ".retry"
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    """A topic, the contract of its messages and how it is created."""

    name: str
    event: type[Event]
    description: str
    partitions: int = 3
    consumed: bool = True  # consumed through the retry/DLQ policy, so it has .retry/.dlq

    @property
    def retry(self) -> str:
        """The retry topic for this topic."""
        return self.name + RETRY_SUFFIX

    @property
    def dlq(self) -> str:
        """The dead-letter topic for this topic."""
        return self.name + DLQ_SUFFIX


ECHO_REQUESTED = TopicSpec("echo.requested", EchoRequested, "A tenant asked for an echo round trip.")
ECHO_COMPLETED = TopicSpec("echo.completed", EchoCompleted, "The echo service recorded a request.", consumed=False)

IMAGE_REQUESTED = TopicSpec("image.requested", ImageRequested, "A tenant asked for an image (key: job_id).")
IMAGE_CANCEL = TopicSpec("image.cancel", ImageCancelRequested, "A tenant cancelled an image job (key: job_id).")
IMAGE_STATUS = TopicSpec("image.status", ImageStatusChanged, "An image job started running.", consumed=False)
IMAGE_COMPLETED = TopicSpec("image.completed", ImageCompleted, "An image job succeeded.", consumed=False)
IMAGE_FAILED = TopicSpec(
    "image.failed", ImageFailed, "An image job failed or was cancelled (compensated), or was rejected.", consumed=False
)

CART_ABANDONED = TopicSpec("cart.abandoned", CartAbandoned, "A shopper abandoned a cart (key: cart_id).")
EMAIL_OUTBOUND = TopicSpec("email.outbound", EmailOutbound, "A composed email, ready for delivery (key: cart_id).")
EMAIL_DELIVERED = TopicSpec("email.delivered", EmailDelivered, "An email went out over SMTP.", consumed=False)
EMAIL_FAILED = TopicSpec("email.failed", EmailFailed, "No email went out for a cart, and why.", consumed=False)

CONTENT_SUBMITTED = TopicSpec("content.submitted", ContentSubmitted, "An item to moderate (key: content_id); tier 1 reads it.")
MODERATION_TIER2 = TopicSpec("moderation.tier2", ModerationTask, "Items the rules could not decide: the classifier's input.")
MODERATION_TIER3 = TopicSpec("moderation.tier3", ModerationTask, "Items the classifier was unsure of: the LLM judge's input.")
MODERATION_REVIEW = TopicSpec(
    "moderation.review", ReviewRequested, "An item waits for a human (review or appeal lane).", consumed=False
)
MODERATION_DECIDED = TopicSpec(
    "moderation.decided", ModerationDecided, "A final moderation decision (or an appeal's, superseding it).", consumed=False
)

REVIEW_REQUESTED = TopicSpec(
    "review.requested", CodeReviewRequested, "A pull request to review, from a verified GitHub webhook (key: owner/repo#number)."
)
REVIEW_TASKS = TopicSpec("review.tasks", ReviewTask, "One planned agent's work on a pull request at a head SHA.")
REVIEW_FINDINGS = TopicSpec("review.findings", AgentReport, "An agent's findings (or its failure) for one review run.")
REVIEW_READY = TopicSpec("review.ready", ReviewReady, "A review run is complete, past its deadline or skipped: publish it.")
REVIEW_POSTED = TopicSpec("review.posted", ReviewPosted, "A review was posted on the pull request.", consumed=False)

BENCH_IN = TopicSpec("bench.in", BenchPing, "Benchmark input (forgeline bench), read through the consumer policy.")
BENCH_OUT = TopicSpec("bench.out", BenchPing, "Benchmark output (forgeline bench).", consumed=False)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    ECHO_REQUESTED,
    ECHO_COMPLETED,
    IMAGE_REQUESTED,
    IMAGE_CANCEL,
    IMAGE_STATUS,
    IMAGE_COMPLETED,
    IMAGE_FAILED,
    CART_ABANDONED,
    EMAIL_OUTBOUND,
    EMAIL_DELIVERED,
    EMAIL_FAILED,
    CONTENT_SUBMITTED,
    MODERATION_TIER2,
    MODERATION_TIER3,
    MODERATION_REVIEW,
    MODERATION_DECIDED,
    REVIEW_REQUESTED,
    REVIEW_TASKS,
    REVIEW_FINDINGS,
    REVIEW_READY,
    REVIEW_POSTED,
    BENCH_IN,
    BENCH_OUT,
)

# Completion topics the gateway fans out to connected clients (SSE / WebSocket). Not
# email.outbound: it carries the recipient's address, which no page should receive.
LIVE_TOPICS: tuple[TopicSpec, ...] = (
    ECHO_COMPLETED,
    IMAGE_STATUS,
    IMAGE_COMPLETED,
    IMAGE_FAILED,
    MODERATION_DECIDED,
    MODERATION_REVIEW,
    EMAIL_DELIVERED,
    EMAIL_FAILED,
)


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group of the platform: the topics it reads (each with its retry topic) and
    the service that runs it. The console's lag and the chart's autoscaling read this list."""

    name: str
    topics: tuple[TopicSpec, ...]
    service: str


REVIEW_AGENTS: tuple[ReviewAgent, ...] = get_args(ReviewAgent)

CONSUMER_GROUPS: tuple[ConsumerGroup, ...] = (
    ConsumerGroup("echo", (ECHO_REQUESTED,), "echo"),
    ConsumerGroup("imagegen", (IMAGE_REQUESTED, IMAGE_CANCEL), "imagegen"),
    ConsumerGroup("email-composer", (CART_ABANDONED,), "email"),
    ConsumerGroup("email-delivery", (EMAIL_OUTBOUND,), "email-delivery"),
    ConsumerGroup("moderation-rules", (CONTENT_SUBMITTED,), "moderation-rules"),
    ConsumerGroup("moderation-classifier", (MODERATION_TIER2,), "moderation-classifier"),
    ConsumerGroup("moderation-judge", (MODERATION_TIER3,), "moderation-judge"),
    ConsumerGroup("codereview-orchestrator", (REVIEW_REQUESTED,), "codereview-orchestrator"),
    ConsumerGroup("codereview-aggregator", (REVIEW_FINDINGS,), "codereview-aggregator"),
    ConsumerGroup("codereview-publisher", (REVIEW_READY,), "codereview-publisher"),
    *(ConsumerGroup(f"codereview-{agent}", (REVIEW_TASKS,), f"codereview-{agent}") for agent in REVIEW_AGENTS),
)


def consumer_group(name: str, spec: TopicSpec) -> ConsumerGroup:
    """The registered group `name` reading `spec`; a service may consume nothing else, so the
    console's lag and the chart's scaling see every consumer."""
    for group in CONSUMER_GROUPS:
        if group.name == name and spec in group.topics:
            return group
    raise KeyError(f"consumer group {name!r} on {spec.name} is not in CONSUMER_GROUPS (services/common/topics.py)")


def all_topic_names(partitions: int | None = None) -> dict[str, int]:
    """Every topic to create (with retry and DLQ topics), mapped to its partition count:
    `partitions` for all where given, else each topic's own."""
    names: dict[str, int] = {}
    for spec in ALL_TOPICS:
        count = partitions or spec.partitions
        names[spec.name] = count
        if spec.consumed:
            names[spec.retry] = count
            names[spec.dlq] = count
    return names


def spec_for(name: str) -> TopicSpec:
    """Look a topic up by name (source, retry or DLQ name)."""
    base = name.removesuffix(RETRY_SUFFIX).removesuffix(DLQ_SUFFIX)
    for spec in ALL_TOPICS:
        if spec.name == base:
            return spec
    raise KeyError(f"unknown topic {name!r}; add it to services/common/topics.py")
