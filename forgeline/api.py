"""How Forgeline's own tools (the demos, the drill runner) call the gateway: through the typed
client generated from its OpenAPI document (clients/python, `make client`), as an integrator
would, so a change to the API that breaks a caller breaks the demos and drills first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
from forgeline_api_client import AuthenticatedClient
from forgeline_api_client.models import ErrorBody
from forgeline_api_client.types import Response

T = TypeVar("T")


class GatewayError(RuntimeError):
    """The gateway refused a call: its status and the error body's reason."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def gateway_client(base_url: str, key: str, timeout_s: float = 30.0) -> AuthenticatedClient:
    """A client of the gateway that sends `key` as the bearer token; a status the document does
    not declare raises rather than passing silently."""
    return AuthenticatedClient(base_url=base_url, token=key, timeout=httpx.Timeout(timeout_s), raise_on_unexpected_status=True)


def expect(response: Response[T | ErrorBody]) -> T:
    """The parsed body of a 2xx answer; any other answer raises GatewayError with its reason."""
    parsed = response.parsed
    if isinstance(parsed, ErrorBody):
        raise GatewayError(response.status_code, parsed.error, parsed.message)
    if response.status_code >= 300 or parsed is None:
        raise GatewayError(response.status_code, "unexpected", response.content.decode(errors="replace")[:200])
    return parsed


def refusal(response: Response[Any]) -> ErrorBody:
    """The error body of an answer that must be a refusal (a 4xx the caller provoked on purpose)."""
    if not isinstance(response.parsed, ErrorBody):
        raise GatewayError(response.status_code, "unexpected", "expected a refusal with an error body")
    return response.parsed


async def server_sent_events(client: AuthenticatedClient, path: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event name, data) of an SSE stream of the gateway. OpenAPI cannot describe a stream's
    events, so the generator writes no function for them: this reads the stream through the
    generated client's own connection (its base URL and key)."""
    async with client.get_async_httpx_client().stream("GET", path, timeout=None) as stream:
        event = ""
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                yield event, json.loads(line.split(":", 1)[1])
            elif not line:
                event = ""
