"""Authentication and rate limiting of gateway requests: the `Caller` dependency.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.tenants import Tenant

ADMIN_ROLES = ("admin",)
ADMINS_ONLY: dict[str, Any] = {"x-required-role": list(ADMIN_ROLES)}  # the OpenAPI extension naming a route's roles
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Tenant:
    """The tenant owning the bearer key, or 401 saying what is missing."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>' (create one with `forgeline tenants create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant: Tenant | None = await request.app.state.tenants.by_api_key(credentials.credentials)
    if tenant is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return tenant


async def current_tenant(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Tenant:
    """Dependency: the authenticated, rate-limited caller (401 / 429 otherwise)."""
    tenant = await authenticate(request, credentials)
    decision = await request.app.state.limiter.check(str(tenant.id))
    if not decision.allowed:
        retry_after = max(1, int(decision.retry_after_s + 0.999))
        limit = request.app.state.settings.gateway.rate_limit_per_second
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {limit:g} requests/s exceeded; retry in {retry_after}s",
            headers={"Retry-After": str(retry_after)},
        )
    return tenant


Caller = Annotated[Tenant, Depends(current_tenant)]


def role_check(roles: tuple[str, ...], refusal: str) -> Callable[[Tenant], Awaitable[Tenant]]:
    """A dependency: the caller, when its key has one of `roles`; 403 with `refusal` otherwise."""

    async def check(tenant: Caller) -> Tenant:
        if tenant.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
        return tenant

    return check
