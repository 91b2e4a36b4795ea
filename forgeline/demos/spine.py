"""The spine demo: an echo request through the gateway, Kafka and a consumer, and back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from forgeline.demos.narrate import Say, gateway_and_key
from services.common.settings import Settings


async def spine(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 30.0) -> bool:
    """Send one echo through the platform and watch it come back on the live stream."""
    gateway, key = gateway_and_key(state, say)
    if not gateway or not key:
        return False
    headers = {"Authorization": f"Bearer {key}"}
    say("== spine demo: HTTP -> Kafka -> echo service -> Postgres -> Kafka -> SSE ==")
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=10) as client:
        me = (await client.get("/v1/tenants/me")).json()
        say(f"1. Authenticated as tenant {me['name']!r} (balance {me['credits']} credits).")
        unauth = await client.get("/v1/tenants/me", headers={"Authorization": ""})
        say(f"2. Without a key the gateway answers {unauth.status_code}: {unauth.json()['message']}")
        bad = await client.post("/v1/echo", json={"message": ""})
        say(f"3. An empty message is refused with {bad.status_code}: {bad.json()['message']}")

        got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        ready = asyncio.Event()

        async def listen() -> None:
            async with client.stream("GET", "/v1/events", timeout=None) as stream:
                event = ""
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                        if event == "ready":
                            ready.set()
                    elif line.startswith("data:") and event not in ("ready", ""):
                        await got.put({"topic": event, "event": json.loads(line.split(":", 1)[1])})

        listener = asyncio.create_task(listen())
        try:
            await asyncio.wait_for(ready.wait(), 10)
            say("4. Subscribed to the live event stream (SSE /v1/events).")
            accepted = (await client.post("/v1/echo", json={"message": "hello, Forgeline"})).json()
            echo_id = accepted["echo_id"]
            say(f"5. POST /v1/echo answered 202 at once: echo {echo_id} is {accepted['status']}; it is now on Kafka.")
            while True:
                update = await asyncio.wait_for(got.get(), timeout_s)
                if update["event"].get("echo_id") == echo_id:
                    break
            say(
                f"6. The echo service recorded it in Postgres and announced {update['topic']}; "
                f"it reached this tenant's stream (processed by {update['event']['processed_by']})."
            )
            status = (await client.get(accepted["status_url"])).json()
            say(f"7. GET {accepted['status_url']} -> status {status['status']!r}.")
            say(f"   Follow it end to end with: forgeline trace {echo_id}")
            return bool(status["status"] == "done")
        except TimeoutError:
            say(f"No completion within {timeout_s:.0f}s. Look at `forgeline logs echo` and `forgeline logs gateway`.")
            return False
        finally:
            listener.cancel()
