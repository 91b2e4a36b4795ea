"""`POST /v1/webhooks/github`: verified, de-duplicated pull request events onto `review.requested`.

Authenticated by the webhook signature, not by an API key. GitHub retries deliveries that
fail; a delivery id seen before is answered 200 and queues nothing.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker

from services.codereview.webhook import WebhookError, repository_of, review_request, secret_for, verify_signature
from services.common.broker import publish_event
from services.common.settings import Settings
from services.common.topics import REVIEW_REQUESTED
from services.gateway.errors import ErrorBody, responses

# The body is read raw (the signature covers its bytes), so the document states it here: what
# the route reads of it first is the repository, whose secret verifies the signature.
SIGNED_BODY: dict[str, Any] = {
    "security": [{"GitHubSignature": []}],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "GitHub's webhook payload; only pull_request events are reviewed.",
                    "required": ["repository"],
                    "properties": {
                        "repository": {
                            "type": "object",
                            "required": ["full_name"],
                            "properties": {"full_name": {"type": "string", "pattern": "/", "examples": ["owner/repo"]}},
                        }
                    },
                    "examples": [{"action": "opened", "repository": {"full_name": "forgeline/demo-shop"}, "number": 7}],
                }
            }
        },
    },
}


def webhook_routes(broker: KafkaBroker, settings: Settings) -> APIRouter:
    """The GitHub webhook route."""
    router = APIRouter(prefix="/v1/webhooks", tags=["code review"])

    # GitHub signs, not an API key: 401 here is a signature that does not verify.
    signed = responses(400, 404, 413, 422, 503) | {
        200: {"description": "A ping (`pong`) or a delivery already queued (`duplicate`)."},
        401: {"model": ErrorBody, "description": "X-Hub-Signature-256 missing or not matching the repository's secret."},
    }

    @router.post("/github", status_code=202, responses=signed, openapi_extra=SIGNED_BODY)
    async def github_webhook(
        request: Request,
        x_github_event: Annotated[str, Header(min_length=1, description="The event: pull_request, ping, ...")],
        x_github_delivery: Annotated[str, Header(min_length=1, description="GitHub's id of this delivery.")],
        x_hub_signature_256: Annotated[str | None, Header(description="`sha256=<hex>`: see GitHubSignature.")] = None,
    ) -> Any:
        """Verify and queue a pull request for review (opened, synchronize, reopened, ready_for_review);
        202 also for events it ignores, with the reason."""
        body = await request.body()
        try:
            payload = json.loads(body)
        except ValueError as error:  # not UTF-8, or not JSON
            raise HTTPException(400, f"body is not JSON in UTF-8: {error}") from error
        try:
            repo = repository_of(payload)
            s = settings
            secret = secret_for(repo, s.github.webhook_secret, s.github.webhook_secrets, s.github.repositories)
            verify_signature(body, secret, x_hub_signature_256)
            if x_github_event == "ping":
                return JSONResponse({"status": "pong", "repo": repo}, status_code=200)
            outcome = review_request(x_github_event, x_github_delivery, payload)
        except WebhookError as error:
            raise HTTPException(error.status, error.message) from error
        if isinstance(outcome, str):
            return JSONResponse({"status": "ignored", "reason": outcome}, status_code=202)
        pool = request.app.state.pool
        fresh = await pool.fetchval(
            "INSERT INTO github_deliveries (delivery_id, event, repo) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
            x_github_delivery,
            x_github_event,
            repo,
        )
        if not fresh:
            return JSONResponse({"status": "duplicate", "delivery_id": x_github_delivery}, status_code=200)
        try:
            await publish_event(broker, REVIEW_REQUESTED, outcome)
        except Exception as error:
            # Forget the delivery so GitHub's redelivery can queue it.
            await pool.execute("DELETE FROM github_deliveries WHERE delivery_id = $1", x_github_delivery)
            raise HTTPException(503, "could not queue the review; GitHub will redeliver") from error
        return {"status": "queued", "key": outcome.key().decode(), "head_sha": outcome.head_sha}

    return router
