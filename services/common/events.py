"""Event contracts: every Kafka message is one of these pydantic v2 models.

Each carries `event_id`, `occurred_at`, `schema_version` and, where it applies,
`tenant_id`. Keys are the entity whose order matters (see `Event.key`).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def utcnow() -> datetime:
    """Timezone-aware now, the only clock contracts use."""
    return datetime.now(UTC)


# Patterns stated in the API documents and applied by the checks below, the same strings:
# whitespace spelled out (Python's and JSON Schema's `\s` differ), and matched whole. NUL is
# never accepted: Postgres cannot store it.
_SPACE = "\\x00\\t\\n\\x0b\\x0c\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u180e\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
PLAIN = "^[^\\x00]*$"  # text without NUL, which Postgres cannot store
NOT_BLANK = f"^[^\\x00]*[^{_SPACE}\\x00][^\\x00]*$"  # and more than whitespace
LINK = f"^https?://([^{_SPACE}/?#@]*@)?[^{_SPACE}/?#@:]+(:[0-9]*)?([/?#][^{_SPACE}]*)?$"  # absolute http(s), a host
PRICE = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


def _plain(text: str) -> str:
    if "\x00" in text:
        raise ValueError("contains a NUL character (\\u0000), which text may not")
    return text


def not_bool(value: Any) -> Any:
    """A number as JSON states it: `true`/`false` are not 1 and 0 here."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _iso_only(value: Any) -> Any:
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time string, not a number")
    return value


# Request fields as the API documents state them: what the schema allows is what is accepted.
PlainText = Annotated[str, AfterValidator(_plain), Field(json_schema_extra={"pattern": PLAIN})]
Integer = Annotated[int, BeforeValidator(not_bool)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


class Event(BaseModel):
    """Base of every event on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SCHEMA_VERSION: ClassVar[int] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique id; consumers de-duplicate on it.")
    occurred_at: datetime = Field(default_factory=utcnow)
    schema_version: int = Field(default=1, ge=1)

    def key(self) -> bytes:
        """Partition key: the entity whose per-entity order matters."""
        return str(self.event_id).encode()


class TenantEvent(Event):
    """An event that belongs to one tenant."""

    tenant_id: uuid.UUID


class EchoRequested(TenantEvent):
    """A tenant asked the platform to echo a message (the spine's round trip)."""

    echo_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    message: str = Field(min_length=1, max_length=4000)

    def key(self) -> bytes:
        return str(self.echo_id).encode()


class EchoCompleted(TenantEvent):
    """The echo service handled an `EchoRequested` and recorded it."""

    echo_id: uuid.UUID
    message: str
    processed_by: str

    def key(self) -> bytes:
        return str(self.echo_id).encode()


class BenchPing(Event):
    """Benchmark traffic (`forgeline bench`): measures the transport, not a pipeline."""

    seq: int
    payload: str = ""


ImageStatus = Literal["queued", "running", "succeeded", "failed", "rejected", "cancelled"]


class ImageParams(BaseModel):
    """What to draw: the part of an image request the model and the prompt cache see."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, max_length=1000)
    width: int = Field(ge=8)
    height: int = Field(ge=8)
    steps: int = Field(ge=1)
    seed: int | None = None


class ImageRequested(TenantEvent):
    """A tenant asked for an image; the imagegen consumer starts saga `image-<job_id>`."""

    job_id: uuid.UUID
    params: ImageParams

    def key(self) -> bytes:
        return str(self.job_id).encode()


class ImageCancelRequested(TenantEvent):
    """The tenant cancelled a job (`POST /v1/images/{job_id}/cancel`); the imagegen consumer cancels
    its saga, whose compensations delete the object and refund the credits."""

    job_id: uuid.UUID

    def key(self) -> bytes:
        return str(self.job_id).encode()


class ImageJobEvent(TenantEvent):
    """A status change of an image job (running, and the final outcomes)."""

    job_id: uuid.UUID
    status: ImageStatus
    reason: str | None = None
    cached: bool = False
    credits_charged: int = 0
    object_key: str | None = None

    def key(self) -> bytes:
        return str(self.job_id).encode()


class ImageStatusChanged(ImageJobEvent):
    """An image job moved to a non-final state (`running`)."""


class ImageCompleted(ImageJobEvent):
    """An image job succeeded: the PNG is stored at `object_key`."""


class ImageFailed(ImageJobEvent):
    """An image job ended `failed` (compensated), `cancelled` (compensated) or `rejected` (e.g. no credits)."""


# ---- marketing email ------------------------------------------------------------------------

Currency = Literal["USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "SEK", "NOK", "DKK"]


class CartItem(BaseModel):
    """One line of an abandoned cart."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: PlainText = Field(min_length=1, max_length=64)
    quantity: Integer = Field(ge=1, le=1000)
    # Stated as the schema's one form: a number of cents precision or its decimal string.
    unit_price: Decimal = Field(
        ge=0,
        max_digits=12,
        decimal_places=2,
        json_schema_extra={
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 9_999_999_999.99, "multipleOf": 0.01},
                {"type": "string", "pattern": PRICE},
            ]
        },
    )


class CartAbandoned(TenantEvent):
    """A shopper left items in a cart (any Kafka client may produce it; key: cart_id)."""

    cart_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    items: list[CartItem] = Field(min_length=1, max_length=100)
    currency: Currency

    def key(self) -> bytes:
        return self.cart_id.encode()


class EmailOutbound(TenantEvent):
    """A composed email ready to send (the generated one, or the safe fallback)."""

    cart_id: str
    user_id: str
    to: str
    subject: str
    preheader: str
    text: str
    html: str
    discount_code: str | None = None
    fallback: bool = False
    failed_checks: list[str] = Field(default_factory=list)
    template_id: str
    backend: str
    stage_ms: dict[str, float] = Field(default_factory=dict, description="Time per composition stage.")

    def key(self) -> bytes:
        return self.cart_id.encode()


class EmailDelivered(TenantEvent):
    """The delivery service handed the email to the SMTP server."""

    cart_id: str
    user_id: str
    message_id: str
    fallback: bool
    delivery_ms: float = Field(default=0.0, description="Time from dequeue to the SMTP server's acceptance.")

    def key(self) -> bytes:
        return self.cart_id.encode()


class EmailFailed(TenantEvent):
    """No email went out for this cart, and why (suppressed, frequency cap, ...)."""

    cart_id: str
    user_id: str
    reason: str

    def key(self) -> bytes:
        return self.cart_id.encode()


# ---- content moderation ---------------------------------------------------------------------

MAX_CONTENT_CHARS = 5000
MAX_CONTENT_LINKS = 20
Severity = Literal["block", "signal"]
# What the policy does about a category (per country): a `block` match of a `reject` or `review`
# category removes the item or sends it to a person; `label` marks approved items; `allow` ignores it.
PolicyAction = Literal["reject", "review", "label", "allow"]
Decision = Literal["approve", "reject"]
DecidingTier = Literal["rules", "classifier", "judge", "human", "appeal"]
ReviewLane = Literal["review", "appeal"]


class RuleMatch(BaseModel):
    """One tier-1 rule that matched: which, its category and how severe."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(
        description='"term:<term>", "pattern:<name>" or "link:<domain>"; "quoted:<rule>" for a blocking rule '
        "that matched only inside quotation marks (a signal)"
    )
    category: str
    severity: Severity
    action: PolicyAction | None = Field(default=None, description="the policy's action for the category in the item's country")


class ClassifierScores(BaseModel):
    """Tier 2's class probabilities for one text (the head's bias set back to the data's class shares)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hate: float = Field(ge=0, le=1)
    offensive: float = Field(ge=0, le=1)
    neither: float = Field(ge=0, le=1)


class JudgeVerdict(BaseModel):
    """Tier 3's structured answer (the JSON schema the LLM must follow)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Decision
    policy_clause: str = Field(
        min_length=1,
        max_length=80,
        description="the policy category a rejection rests on (hate, threat, ...); none for an approval",
    )
    rationale: str = Field(min_length=1, max_length=400)
    confidence: float = Field(ge=0, le=1)
    severity: Literal["none", "low", "medium", "high"]


def _check_links(links: list[str]) -> list[str]:
    for link in links:
        if not re.fullmatch(LINK, link):
            raise ValueError(f"invalid link {link[:100]!r}: links must be absolute http(s) URLs")
    return links


def not_blank(text: str, what: str) -> str:
    """`text` unless it is whitespace only or holds a NUL (NOT_BLANK, the documents' pattern)."""
    _plain(text)
    if not re.fullmatch(NOT_BLANK, text):
        raise ValueError(f"{what} is blank: it must contain more than whitespace")
    return text


class ContentFields(BaseModel):
    """What a client submits for moderation (HTTP body and event payload alike)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS, json_schema_extra={"pattern": NOT_BLANK})
    author_id: PlainText = Field(min_length=1, max_length=128)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2; the policy must cover it")
    lang: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    links: list[str] = Field(
        default_factory=list, max_length=MAX_CONTENT_LINKS, json_schema_extra={"items": {"type": "string", "pattern": LINK}}
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        return not_blank(text, "text")

    @field_validator("links")
    @classmethod
    def _links_are_urls(cls, links: list[str]) -> list[str]:
        return _check_links(links)


class ContentSubmitted(TenantEvent, ContentFields):
    """An item to moderate (key: content_id); any Kafka client may produce it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_id: uuid.UUID = Field(default_factory=uuid.uuid4)

    def key(self) -> bytes:
        return str(self.content_id).encode()


class ModerationTask(ContentSubmitted):
    """An item a cheaper tier could not decide, with that tier's evidence (tier 2 and 3 input)."""

    policy_version: str
    rule_matches: list[RuleMatch] = Field(default_factory=list)
    scores: ClassifierScores | None = None


class ReviewRequested(TenantEvent):
    """An item waits for a human in a review lane (announcement; the queue is in Postgres)."""

    content_id: uuid.UUID
    lane: ReviewLane
    reason: str

    def key(self) -> bytes:
        return str(self.content_id).encode()


class ModerationDecided(TenantEvent):
    """A final decision; an appeal's outcome supersedes the original (`supersedes`)."""

    decision_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    content_id: uuid.UUID
    decision: Decision
    tier: DecidingTier
    reasons: list[str]
    category: str | None = Field(
        default=None,
        description="the policy category a rejection rests on (a rule's, hate for the classifier, the judge's clause)",
    )
    labels: list[str] = Field(default_factory=list, description="categories of an approved item whose policy action is label")
    rule_matches: list[RuleMatch] = Field(default_factory=list)
    scores: ClassifierScores | None = None
    verdict: JudgeVerdict | None = None
    policy_version: str
    country: str
    decided_by: str
    supersedes: uuid.UUID | None = None

    def key(self) -> bytes:
        return str(self.content_id).encode()


# ---- code review ----------------------------------------------------------------------------


class CodeReviewRequested(Event):
    """A pull request to review (from a verified GitHub webhook; key: `owner/repo#number`)."""

    delivery_id: str = Field(min_length=1, max_length=100, description="X-GitHub-Delivery; de-duplicated at intake")
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$", description="owner/name")
    number: int = Field(ge=1)
    action: Literal["opened", "synchronize", "reopened", "ready_for_review"]
    head_sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    base_sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    title: str
    draft: bool = False
    author: str
    installation_id: int | None = None

    def key(self) -> bytes:
        return f"{self.repo}#{self.number}".encode()


ReviewAgent = Literal["quality", "security", "performance", "tests", "docs"]
FindingSeverity = Literal["critical", "warning", "suggestion"]


class Finding(BaseModel):
    """One thing an agent noticed, on a line the pull request added or changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: ReviewAgent
    path: str
    line: int = Field(ge=1, description="new-file line number (GitHub's `line`, `side: RIGHT`)")
    severity: FindingSeverity
    rule: str = Field(description="tool:code, e.g. bandit:B602, secrets:aws-access-key-id")
    message: str
    suggestion: str | None = None


class ReviewRunEvent(Event):
    """An event about one review run: a pull request at one head SHA (key: `owner/repo#number`)."""

    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    number: int = Field(ge=1)
    head_sha: str = Field(pattern=r"^[0-9a-f]{40}$")

    def key(self) -> bytes:
        return f"{self.repo}#{self.number}".encode()


class ReviewTask(ReviewRunEvent):
    """One planned agent's work on a run; the changed files wait in Postgres."""

    agent: ReviewAgent
    budget_tokens: int = Field(ge=0, description="this agent's share of the PR's LLM budget")
    deadline_at: datetime


class AgentReport(ReviewRunEvent):
    """What one agent found (or why it could not finish)."""

    agent: ReviewAgent
    findings: list[Finding] = []
    seconds: float = 0.0
    tokens_used: int = 0
    error: str | None = None


class ReviewReady(ReviewRunEvent):
    """Every planned agent reported, the deadline passed, or the run was skipped: publish it."""

    reason: Literal["complete", "deadline", "skipped"]


class ReviewPosted(ReviewRunEvent):
    """A review landed on the pull request."""

    review_id: int
    review_event: Literal["COMMENT", "REQUEST_CHANGES", "APPROVE"]
    counts: dict[str, int] = Field(description="findings per severity")
    inline_comments: int
