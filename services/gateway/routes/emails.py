"""`GET /v1/emails`: what the email pipeline did with the tenant's latest carts.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.email.delivery import recent_sends
from services.gateway.auth import Caller
from services.gateway.errors import AUTHED, responses


class EmailView(BaseModel):
    """One cart's email: sent, or why not. The recipient's address is never returned."""

    cart_id: str
    user_id: str
    status: Literal["sending", "sent", "suppressed", "capped"] = Field(
        description="`sending`: handed to SMTP, not confirmed yet; `suppressed`/`capped`: not sent, and why."
    )
    fallback: bool = Field(description="The safe fallback went out instead of the generated email.")
    failed_checks: list[str] = Field(description="The guardrails the generated email failed (when it fell back).")
    subject: str
    html: str = Field(description="The HTML part as composed (for suppressed or capped carts: what would have gone out).")
    template_id: str
    stage_ms: dict[str, float] = Field(description="Milliseconds in each composition stage.")
    created_at: datetime
    sent_at: datetime | None


def email_routes() -> APIRouter:
    """The tenant's latest emails."""
    router = APIRouter(prefix="/v1/emails", tags=["email"], responses=AUTHED)

    @router.get("", response_model=list[EmailView], responses=responses(422))
    async def list_emails(
        tenant: Caller, request: Request, limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first.")] = 20
    ) -> list[EmailView]:
        """The tenant's latest carts as the email pipeline handled them, newest first."""
        rows = await recent_sends(request.app.state.pool, tenant.id, limit)
        return [
            EmailView(
                **{k: row[k] for k in ("cart_id", "user_id", "status", "fallback", "subject", "html", "template_id")},
                failed_checks=json.loads(row["failed_checks"]),
                stage_ms=json.loads(row["stage_ms"]),
                created_at=row["created_at"],
                sent_at=row["sent_at"],
            )
            for row in rows
        ]

    return router
