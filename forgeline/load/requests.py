"""What the load sends: the `index`th request of a pipeline for a seed is always the same
(body and Idempotency-Key), so a run can be repeated; and what each pipeline's answers and
intake are called."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from typing import Any

from forgeline.standins.review_samples import (
    WEBHOOK_PATH,
    PullFiles,
    fake_sha,
    planted_pull,
    pull_request_payload,
    signed_webhook,
)

NAMESPACE = uuid.UUID("6f1c2a52-3c1e-4a39-9d7b-0b0c9a8d1e77")
WORDS = ("lighthouse", "meadow", "canyon", "harbour", "glacier", "orchard", "market", "comet", "forest", "bridge")
# Ordinary posts; most carry a mild signal word, so tier 1 escalates them and every tier works.
POSTS = (
    "what a lovely day at the market",
    "damn, the new bridge opens next week",
    "anyone know a good bakery near the harbour? this one is crap",
    "our team shipped the damn release on time",
)

# The pipelines it can load, and the field of a 202 that names what was accepted (a pull
# request is named by the load itself: repository, number and head SHA).
ID_FIELD = {"images": "job_id", "content": "content_id", "echo": "echo_id", "carts": "cart_id", "pull_requests": ""}
# The consumer group and topic that take each pipeline's requests off the bus (its lag, charted).
INTAKE = {
    "echo": ("echo", "echo.requested"),
    "images": ("imagegen", "image.requested"),
    "content": ("moderation-rules", "content.submitted"),
    "carts": ("email-composer", "cart.abandoned"),
    "pull_requests": ("codereview-orchestrator", "review.requested"),
}
USER_CLASSES = {name: f"{name.title().replace('_', '')}User" for name in ID_FIELD}  # defined by locustfile.py
USERS_PER_REQUEST_PER_S = 4  # users a pipeline gets per request/s: a stalled user holds back only part of the rate


def users_for(rate: float) -> int:
    """How many Locust users carry a pipeline's rate."""
    return max(1, math.ceil(rate * USERS_PER_REQUEST_PER_S))


def cart_catalogue(shop: dict[str, Any]) -> dict[str, Any]:
    """What carts take of a seeded shop (`forgeline.tools.seed.seed_shop`): user ids and (SKU, price)."""
    return {"users": [u["user_id"] for u in shop["users"]], "skus": [[i["sku"], i["price"]] for i in shop["skus"]]}


@dataclass(frozen=True)
class PullRequest:
    """The `index`th pull request of a load: where it lives at the GitHub stand-in, and its files."""

    repo: str
    number: int
    head_sha: str
    files: PullFiles

    @property
    def name(self) -> str:
        """What the auditor knows it by: one review is due per head SHA."""
        return f"{self.repo}#{self.number}@{self.head_sha}"


def pull_request(index: int, seed: int, run: str) -> PullRequest:
    """A fresh repository per run (`run`), so reruns of a seed never meet an earlier review."""
    repo = f"drills/run-{run}"
    return PullRequest(repo, index + 1, fake_sha(f"{repo}#{index + 1}/{seed}"), planted_pull())


def request(
    pipeline: str, index: int, seed: int, shop: dict[str, Any] | None = None, *, run: str = "", webhook_secret: str = ""
) -> tuple[str, dict[str, Any] | bytes, dict[str, str]]:
    """The `index`th request of a pipeline for this seed: path, body (JSON, or the signed bytes of
    a webhook) and headers. Carts name the users and SKUs of the tenant's `shop`
    (`forgeline.tools.seed.seed_shop`); pull requests are webhooks signed with `webhook_secret`."""
    rng = random.Random(f"{seed}/{pipeline}/{index}")
    ident = uuid.uuid5(NAMESPACE, f"{seed}/{pipeline}/{index}")
    if pipeline == "images":
        prompt = f"a {rng.choice(WORDS)} and a {rng.choice(WORDS)}, study {index} of seed {seed}"
        body = {"prompt": prompt, "width": 64, "height": 64, "steps": 2, "seed": index}
        return "/v1/images", body, {"Idempotency-Key": str(ident)}
    if pipeline == "content":
        # No content_id: ids are global, and a rerun of the seed must not collide with the last run's.
        body = {"text": f"{rng.choice(POSTS)} ({index})", "author_id": f"drill-{seed}", "country": "US"}
        return "/v1/content", body, {}
    if pipeline == "echo":
        return "/v1/echo", {"message": f"drill {seed} #{index}"}, {}
    if pipeline == "carts":
        if not shop:
            raise ValueError("the carts load needs the tenant's shop (its users and SKUs)")
        users, skus = shop["users"], shop["skus"]
        picked = [skus[(index * 7 + k) % len(skus)] for k in range(1 + index % 3)]
        body = {
            "event_id": str(ident),  # a retried cart is the same event
            "cart_id": f"drill-{seed}-{index}",
            "user_id": users[index % len(users)],
            "items": [{"sku": sku, "quantity": 1, "unit_price": price} for sku, price in picked],
            "currency": "USD",
        }
        return "/v1/events/cart-abandoned", body, {}
    if pipeline == "pull_requests":
        pull = pull_request(index, seed, run)
        payload = pull_request_payload(pull.repo, pull.number, pull.head_sha, fake_sha(f"{pull.repo}/base"))
        # Delivery ids are global (the gateway answers a seen one 200 and queues nothing): per run.
        delivery = uuid.uuid5(NAMESPACE, f"{run}/{seed}/{pipeline}/{index}")
        raw, headers = signed_webhook(webhook_secret, payload, delivery=str(delivery))
        return WEBHOOK_PATH, raw, headers
    raise ValueError(f"no load for {pipeline!r} yet (it loads {', '.join(ID_FIELD)})")
