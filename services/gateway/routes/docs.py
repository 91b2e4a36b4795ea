"""The API documents, behind a key like every other route (no anonymous Swagger UI).
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from typing import Any

from fastapi import APIRouter, Request

from services.gateway.asyncapi import asyncapi_document
from services.gateway.auth import Caller


def docs_routes(version: str) -> APIRouter:
    """`GET /openapi.json` (this app's routes) and `GET /asyncapi.json` (every topic)."""
    router = APIRouter()
    events_document = asyncapi_document(version)  # the registry is static: build it once

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(tenant: Caller, request: Request) -> dict[str, Any]:
        document: dict[str, Any] = request.app.openapi()
        return document

    @router.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi(tenant: Caller) -> dict[str, Any]:
        return events_document

    return router
