"""Live updates for a tenant: Server-Sent Events and a WebSocket, fed by the gateway's hub
(services/gateway/live.py), which reads every completion topic.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from sse_starlette import EventSourceResponse

from services.gateway.auth import Caller
from services.gateway.errors import AUTHED
from services.gateway.live import LiveHub, sse_frame


def live_routes(hub: LiveHub) -> APIRouter:
    """`GET /v1/events` (SSE) and `WS /v1/ws`."""
    router = APIRouter(prefix="/v1", tags=["live"], responses=AUTHED)

    @router.get("/events", response_class=EventSourceResponse)
    async def event_stream(tenant: Caller, request: Request) -> EventSourceResponse:
        """Server-Sent Events: every completion event of the caller's tenant, as it happens."""

        async def stream() -> AsyncIterator[dict[str, str]]:
            with hub.subscribe(tenant.id) as queue:
                yield {"event": "ready", "data": "{}"}
                while not await request.is_disconnected():
                    try:
                        update = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    yield sse_frame(update)

        return EventSourceResponse(stream(), ping=15)

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        """WebSocket: the same updates as /v1/events, as JSON messages."""
        auth = websocket.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        tenant = await websocket.app.state.tenants.by_api_key(key) if scheme.lower() == "bearer" and key else None
        await websocket.accept()  # accept first so a browser client can read why it is closed
        if tenant is None:
            await websocket.close(code=4401, reason="send 'Authorization: Bearer <key>' with the upgrade request")
            return
        with hub.subscribe(tenant.id) as queue:
            await websocket.send_json({"type": "ready"})
            receiver = asyncio.create_task(_drain(websocket))
            try:
                while not receiver.done():
                    try:
                        update = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    await websocket.send_json({"type": "event", **update})
            except WebSocketDisconnect:
                pass
            finally:
                receiver.cancel()

    return router


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until it disconnects."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
