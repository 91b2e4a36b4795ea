"""The spine demo: an echo request through the gateway, Kafka and a consumer, and back."""

from __future__ import annotations

import asyncio
from typing import Any

from forgeline_api_client.api.echo import get_echo, post_echo
from forgeline_api_client.api.tenants import get_me
from forgeline_api_client.models import EchoRequest

from forgeline.api import expect, gateway_client, refusal, server_sent_events
from forgeline.demos.narrate import Say, gateway_and_key
from services.common.settings import Settings


async def spine(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 30.0) -> bool:
    """Send one echo through the platform and watch it come back on the live stream."""
    gateway, key = gateway_and_key(state, say)
    if not gateway or not key:
        return False
    say("== spine demo: HTTP -> Kafka -> echo service -> Postgres -> Kafka -> SSE ==")
    async with gateway_client(gateway, key, timeout_s=10) as client:
        me = expect(await get_me.asyncio_detailed(client=client))
        say(f"1. Authenticated as tenant {me.name!r} (balance {me.credits_} credits).")
        async with gateway_client(gateway, "not-a-forgeline-key") as stranger:
            unauth = await get_me.asyncio_detailed(client=stranger)
        say(f"2. With an unknown key the gateway answers {unauth.status_code}: {refusal(unauth).message}")
        bad = await post_echo.asyncio_detailed(client=client, body=EchoRequest(message=""))
        say(f"3. An empty message is refused with {bad.status_code}: {refusal(bad).message}")

        got: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        ready = asyncio.Event()

        async def listen() -> None:
            async for event, data in server_sent_events(client, "/v1/events"):
                if event == "ready":
                    ready.set()
                elif event:
                    await got.put((event, data))

        listener = asyncio.create_task(listen())
        try:
            await asyncio.wait_for(ready.wait(), 10)
            say("4. Subscribed to the live event stream (SSE /v1/events).")
            accepted = expect(await post_echo.asyncio_detailed(client=client, body=EchoRequest(message="hello, Forgeline")))
            echo_id = accepted.echo_id
            say(f"5. POST /v1/echo answered 202 at once: echo {echo_id} is {accepted.status}; it is now on Kafka.")
            while True:
                topic, update = await asyncio.wait_for(got.get(), timeout_s)
                if update.get("echo_id") == str(echo_id):
                    break
            say(
                f"6. The echo service recorded it in Postgres and announced {topic}; "
                f"it reached this tenant's stream (processed by {update['processed_by']})."
            )
            status = expect(await get_echo.asyncio_detailed(echo_id, client=client))
            say(f"7. GET {accepted.status_url} -> status {status.status.value!r}.")
            say(f"   Follow it end to end with: forgeline trace {echo_id}")
            return status.status.value == "done"
        except TimeoutError:
            say(f"No completion within {timeout_s:.0f}s. Look at `forgeline logs echo` and `forgeline logs gateway`.")
            return False
        finally:
            listener.cancel()
