"""`GET /v1/code-reviews`: the latest review runs, each agent's report and the review posted.
Runs belong to the installation (its GitHub webhook), not to a tenant, so only admin keys read them.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.codereview import store
from services.common.events import Finding
from services.gateway.auth import ADMIN_ROLES, ADMINS_ONLY, role_check
from services.gateway.errors import AUTHED, responses
from services.gateway.tenants import Tenant

Admin = Annotated[Tenant, Depends(role_check(ADMIN_ROLES, "code review runs are the installation's: this needs an admin key"))]


class AgentReportView(BaseModel):
    """What one agent reported on a run."""

    agent: str
    seconds: float
    error: str | None = Field(description="Why the agent gave up (its findings are then empty).")
    findings: list[Finding]


class CodeReviewView(BaseModel):
    """One review run: a pull request at one head SHA."""

    repo: str
    number: int
    head_sha: str
    title: str
    author: str
    status: Literal["collecting", "ready", "posted"]
    agents: list[str] = Field(description="The agents the plan asked for.")
    requested_at: datetime
    ready_at: datetime | None
    posted_at: datetime | None
    review_id: int | None = Field(description="The review's id at GitHub, once posted.")
    review_event: str | None = Field(description="COMMENT or REQUEST_CHANGES, once posted.")
    reports: list[AgentReportView]


def codereview_routes() -> APIRouter:
    """The installation's latest review runs (admin keys)."""
    router = APIRouter(prefix="/v1/code-reviews", tags=["code review"], responses=AUTHED | responses(403))

    @router.get("", response_model=list[CodeReviewView], responses=responses(422), openapi_extra=ADMINS_ONLY)
    async def list_code_reviews(
        admin: Admin, request: Request, limit: Annotated[int, Query(ge=1, le=50, description="How many, newest first.")] = 10
    ) -> list[CodeReviewView]:
        """The latest review runs, newest first, with each agent's findings (path, line, rule, message)."""
        pool = request.app.state.pool
        runs = await store.recent_runs(pool, limit)
        reports = await store.reports_of(pool, [store.RunKey(r["repo"], r["number"], r["head_sha"]) for r in runs])
        return [
            CodeReviewView(
                **dict(row),
                reports=[
                    AgentReportView(agent=agent, seconds=r.seconds, error=r.error, findings=r.findings)
                    for agent, r in sorted(reports[store.RunKey(row["repo"], row["number"], row["head_sha"])].items())
                ],
            )
            for row in runs
        ]

    return router
