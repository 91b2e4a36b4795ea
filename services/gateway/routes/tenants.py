"""What a tenant sees of itself.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.gateway.auth import Caller
from services.gateway.errors import AUTHED
from services.gateway.tenants import Role


class TenantView(BaseModel):
    """What a tenant sees of itself."""

    id: uuid.UUID
    name: str
    role: Role
    credits: int


def tenant_routes() -> APIRouter:
    """`GET /v1/tenants/me`."""
    router = APIRouter(prefix="/v1/tenants", tags=["tenants"], responses=AUTHED)

    @router.get("/me", response_model=TenantView)
    async def get_me(tenant: Caller, request: Request) -> TenantView:
        """The calling tenant, with its current credit balance."""
        fresh = await request.app.state.tenants.get(tenant.id)
        return TenantView(**(fresh or tenant).model_dump())

    return router
