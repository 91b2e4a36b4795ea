"""The OpenAPI document as a client generator needs it: FastAPI's, plus what depends on this
deployment's configuration (the image size bounds, the countries the moderation policy covers),
the security schemes with the roles they carry, and the rate limit in words.

Routes declare their own error statuses (`services.gateway.errors.responses`); what a
configuration decides is written in here, once, when the document is first asked for.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.settings import Settings

ROLES = "Roles: `tenant` (the default: its own resources only), `reviewer` and `admin` (also the review queue)."


def build_openapi(app: FastAPI, settings: Settings, countries: list[str]) -> dict[str, Any]:
    """The document for `app` under `settings`, with the policy's `countries`."""
    limit = settings.gateway
    description = (
        f"{app.description}\n\n"
        f"Rate limit: {limit.rate_limit_per_second:g} requests/s per tenant (bursts of {limit.rate_limit_burst}); "
        "over it, 429 with `Retry-After` in seconds. Errors share one model (`ErrorBody`). "
        "Accepted work answers 202 with a `Location` to follow. `POST /v1/images` takes an "
        "`Idempotency-Key`: the same key with the same body returns the same job."
    )
    document = get_openapi(title=app.title, version=app.version, description=description, routes=app.routes)
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["HTTPBearer"]["description"] = f"`Authorization: Bearer <API key>` (`forgeline tenants create`). {ROLES}"
    schemes["GitHubSignature"] = {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": "`sha256=<hex HMAC-SHA256 of the body>` with the repository's webhook secret, as GitHub signs.",
    }
    schemas = document["components"]["schemas"]
    bounds = settings.imagegen
    for side in ("width", "height"):
        schemas["ImageRequest"]["properties"][side] |= {"minimum": bounds.min_side, "maximum": bounds.max_side, "multipleOf": 8}
    schemas["ImageRequest"]["properties"]["steps"]["maximum"] = bounds.max_steps
    schemas["ContentRequest"]["properties"]["country"]["enum"] = countries
    schemas["BatchRequest"]["properties"]["items"]["maxItems"] = settings.moderation.batch_max_items
    return document


def install_openapi(app: FastAPI, settings: Settings, countries: list[str]) -> None:
    """Serve `build_openapi` as the app's document (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, settings, countries)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# Where no server is configured, the document is built with these: the app's clients connect
# only in its lifespan, which building a document never runs.
PLACEHOLDERS = {
    "kafka_bootstrap_servers": "kafka:9092",
    "s3_endpoint_url": "http://s3:9000",
    "database_url": "postgresql://forgeline@postgres:5432/forgeline",
    "redis_url": "redis://redis:6379/0",
}


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The document the gateway serves under `settings`, without starting it (`forgeline
    openapi`; `make client` generates the Python client from it)."""
    from services.gateway.app import create_app

    endpoints = {name: getattr(settings.endpoints, name) or value for name, value in PLACEHOLDERS.items()}
    document: dict[str, Any] = create_app(settings.replace(endpoints=endpoints)).openapi()
    return document
