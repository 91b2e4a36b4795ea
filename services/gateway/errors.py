"""Errors that say what is wrong: the one error model, readable validation messages and
body-size limits, and the OpenAPI `responses` that declare them on each route."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.broker import publish_event
from services.common.errors import describe_validation_errors
from services.common.events import Event
from services.common.topics import TopicSpec

UNPARSED = "There was an error parsing the body"  # FastAPI's 400 for a body that is not JSON text
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}
WHY = {
    400: "The body is not a JSON document in UTF-8 (or, for the webhook, not GitHub's); `message` says what.",
    401: "No API key, or an unknown one: send `Authorization: Bearer <key>` (`forgeline tenants create` makes one).",
    403: "The key's role may not do this (the review queue needs a `reviewer` or `admin` key).",
    404: "No such resource for this tenant (another tenant's resources are not found either).",
    409: "The request conflicts with the resource's state; `message` says what to do instead.",
    413: "The body is larger than the route's limit.",
    422: "The request breaks a constraint; `message` names each field and what is wrong with it.",
    429: "Over the tenant's rate limit: retry after `Retry-After` seconds.",
    500: "A defect in the gateway: it was logged; retrying may not help. Nothing was accepted unless a GET says so.",
    503: "A dependency (the event bus) is unavailable: nothing was lost, retry (image jobs: with an Idempotency-Key).",
}


class FieldProblem(BaseModel):
    """One field that failed validation."""

    loc: list[str | int] = Field(description="Where: `body`, `path`, `query` or `header`, then the field's path.")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The one error model: every 4xx and 5xx the gateway answers has this body."""

    error: str = Field(description="A stable code: " + ", ".join(CODES.values()) + ".", examples=["invalid_request"])
    message: str = Field(
        description="What is wrong and what to do next.", examples=["width: must be a multiple of 8 between 64 and 512 (got 65)"]
    )
    details: list[FieldProblem] | None = Field(default=None, description="422 from validation: each field's problem.")


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape: {"error": code, "message": text, ...}."""
    return {"error": code, "message": message, **extra}


def invalid(*problems: tuple[str, str]) -> RequestValidationError:
    """A 422 shaped like pydantic's for a check a handler makes: each (body field, what is wrong),
    so a client (the console) can show each problem next to its field."""
    errors = [{"loc": ("body", field), "msg": message, "type": "value_error"} for field, message in problems]
    return RequestValidationError(errors)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring these error statuses, each with the one error model."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        declared[status] = {"model": ErrorBody, "description": WHY[status]}
        if status == 429:
            retry = {"description": "Seconds until the tenant's bucket has a token again.", "schema": {"type": "integer"}}
            declared[status]["headers"] = {"Retry-After": retry}
    return declared


AUTHED = responses(401, 429)  # every route behind the API key
# A 202 says where to follow the accepted work.
LOCATION: dict[int | str, dict[str, Any]] = {
    202: {"headers": {"Location": {"description": "The accepted resource: GET it for its state.", "schema": {"type": "string"}}}}
}


async def publish_or_503(broker: KafkaBroker, spec: TopicSpec, event: Event, what: str) -> None:
    """Publish, or answer 503 saying nothing was queued and to retry."""
    try:
        await publish_event(broker, spec, event)
    except Exception as error:
        raise HTTPException(503, f"could not queue {what} (event bus unavailable); retry") from error


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every 4xx and 5xx the same readable shape."""

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(error_body("invalid_request", describe_validation_errors(errors), details=errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        headers = exc.headers
        if exc.status_code == 400 and detail == UNPARSED:
            detail = "the body is not a JSON document in UTF-8: send Content-Type: application/json with one"
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only; a path served
            # by several routes (GET and POST) allows them all.
            methods = {
                m for r in request.app.routes if r.matches(request.scope)[0] != Match.NONE for m in getattr(r, "methods", ())
            }
            headers = {**(headers or {}), "Allow": ", ".join(sorted(methods))}
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        code = CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def on_defect(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception once this is sent; the caller gets the one error model,
        # never a traceback or a bare text 500.
        message = "the gateway failed on this request (a defect, logged); check GET of the resource before retrying"
        return JSONResponse(error_body(CODES[500], message), status_code=500)


class BodySizeLimit:
    """Reject bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # exact paths allowed bigger bodies (batch intake)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope["path"], self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            await self._reject(send, max_bytes)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _TooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLargeError:
            if not started:
                await self._reject(send, max_bytes)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        body = json.dumps(error_body("too_large", f"request body is larger than {max_bytes} bytes")).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


class _TooLargeError(Exception):
    pass
