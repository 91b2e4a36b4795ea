"""GitHub webhook intake, as plain functions: which secret, is the signature right, is this a
pull request event we review.

GitHub signs the raw body with HMAC-SHA256 and sends `X-Hub-Signature-256: sha256=<hex>`;
the comparison is constant-time. A secret per repository (`GITHUB_WEBHOOK_SECRETS`) wins
over the default one (`GITHUB_WEBHOOK_SECRET`); `GITHUB_REPOSITORIES`, when set, is the
list of repositories accepted at all.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.common.events import CodeReviewRequested

REVIEWED_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})


@dataclass(frozen=True)
class WebhookError(Exception):
    """A refused delivery: the HTTP status to answer and why."""

    status: int
    message: str


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body` (tests and the demo use it too)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def secret_for(repo: str, default: str, per_repo: dict[str, str], allowed: list[str]) -> str:
    """The secret that signs `repo`'s webhooks; 404 for a repository this platform does not serve."""
    if allowed and repo not in allowed:
        raise WebhookError(404, f"repository {repo} is not configured for review (GITHUB_REPOSITORIES)")
    secret = per_repo.get(repo) or default
    if not secret:
        raise WebhookError(404, f"repository {repo} has no webhook secret (GITHUB_WEBHOOK_SECRET or GITHUB_WEBHOOK_SECRETS)")
    return secret


def verify_signature(body: bytes, secret: str, header: str | None) -> None:
    """401 unless `header` is the HMAC-SHA256 of `body` under `secret` (constant-time compare)."""
    if not header or not header.startswith("sha256="):
        raise WebhookError(401, "missing or malformed X-Hub-Signature-256 (expected 'sha256=<hex>')")
    if not hmac.compare_digest(sign(body, secret), header):
        raise WebhookError(401, "signature does not match: check the webhook secret configured on GitHub")


def repository_of(payload: Any) -> str:
    """`repository.full_name` of a webhook body; 400 when the body has none."""
    repository = payload.get("repository") if isinstance(payload, dict) else None
    repo = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(repo, str) or "/" not in repo:
        raise WebhookError(400, "payload has no repository.full_name")
    return repo


def review_request(event: str, delivery_id: str, payload: dict[str, Any]) -> CodeReviewRequested | str:
    """The review to queue, or why this delivery needs none (another event, action or a draft)."""
    if event != "pull_request":
        return f"event {event!r} is not reviewed"
    action = payload.get("action")
    if action not in REVIEWED_ACTIONS:
        return f"pull_request action {action!r} is not reviewed"
    try:
        pr = payload["pull_request"]
        if pr.get("draft") and action != "ready_for_review":
            return "draft pull request: reviewed when marked ready for review"
        return CodeReviewRequested(
            delivery_id=delivery_id,
            repo=payload["repository"]["full_name"],
            number=payload["number"],
            action=action,
            head_sha=pr["head"]["sha"],
            base_sha=pr["base"]["sha"],
            title=pr.get("title") or "",
            draft=bool(pr.get("draft")),
            author=pr["user"]["login"],
            installation_id=(payload.get("installation") or {}).get("id"),
        )
    except (KeyError, TypeError, ValidationError) as error:
        raise WebhookError(400, f"malformed pull_request payload: {type(error).__name__}: {str(error)[:200]}") from error
