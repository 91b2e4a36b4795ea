"""The email demo: abandoned carts become personalised emails at the SMTP sink."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from forgeline_api_client.api.email import cart_abandoned
from forgeline_api_client.models import CartAbandonedRequest

from forgeline.api import expect, gateway_client, refusal
from forgeline.demos.narrate import Say, gateway_and_key
from services.common.settings import Settings


async def email(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 90.0) -> bool:
    """Cart-abandonment emails: seed the shop, fire five carts, follow each stage, show the mail."""
    import asyncpg

    from forgeline.tools.seed import seed

    gateway, _ = gateway_and_key(state, say)
    if not gateway:
        return False
    say("== email demo: cart.abandoned -> context -> retrieval -> generation -> guardrails -> SMTP ==")
    endpoints = {name: rec["endpoint"] for name, rec in state["components"].items()}
    conn = await asyncpg.connect(endpoints["postgres"])
    try:
        shop = await seed(conn, settings.state_dir / "seed.json")
    finally:
        await conn.close()
    say(f"1. Seeded the shop: {shop['counts']} (details in {settings.state_dir / 'seed.json'}).")
    carts = _demo_carts(shop)
    watcher = _EmailWatcher(endpoints["kafka"])
    await watcher.start()
    try:
        async with gateway_client(gateway, shop["tenant"]["api_key"], timeout_s=15) as client:
            # The repeat cart goes last, once the first has been sent, so the frequency cap
            # has something to cap (carts of one batch run concurrently).
            *first, repeat = carts.items()
            outcomes: dict[str, str] = {}
            for wave in (first, [repeat]):
                for label, body in wave:
                    response = await cart_abandoned.asyncio_detailed(client=client, body=CartAbandonedRequest.from_dict(body))
                    answer = refusal(response).message if response.status_code >= 300 else expect(response).status
                    say(f"2. {label}: cart {body['cart_id']} -> {response.status_code} {answer}")
                outcomes |= await watcher.follow({body["cart_id"]: label for label, body in wave}, say, timeout_s)
    finally:
        await watcher.stop()
    say("4. What the SMTP sink received:")
    mails = _sink_mails(settings.state_dir / "mail", {body["cart_id"] for body in carts.values()})
    for mail in mails:
        say(f"   To: {mail['To']}  Subject: {mail['Subject']}")
        for line in _plain_text(mail).strip().splitlines()[:6]:
            say(f"     | {line}")
    expected = {
        "loyal shopper": "sent",
        "new shopper": "sent",
        "bargain shopper, stale 50% template": "sent (fallback)",
        "unsubscribed shopper": "not sent: suppressed",
        "loyal shopper again": "not sent: capped",
    }
    ok = outcomes == expected and len(mails) == 3
    say(
        f"5. {'As expected' if ok else 'Unexpected outcomes: ' + str(outcomes)}: three emails, one of them the safe fallback; "
        "the unsubscribed address and the second cart inside the frequency cap got none."
    )
    return ok


def _demo_carts(shop: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def first(cohort: str) -> str:
        return str(
            next(u["user_id"] for u in shop["users"] if u["cohort"] == cohort and u["user_id"] != shop["suppressed_user_id"])
        )

    def sku(part: str) -> str:
        return str(next(s["sku"] for s in shop["skus"] if part in s["sku"]))

    run = time.strftime("%H%M%S")

    def body(user_id: str, skus: list[str], n: int) -> dict[str, Any]:
        items = [{"sku": s, "quantity": 1, "unit_price": "59.00"} for s in skus]
        return {"cart_id": f"demo-{run}-{n}", "user_id": user_id, "items": items, "currency": "USD"}

    loyal = first("loyal")
    return {
        "loyal shopper": body(loyal, [sku("SHO")], 1),
        "new shopper": body(first("new"), [sku("HOM"), sku("BAG")], 2),
        "bargain shopper, stale 50% template": body(first("bargain"), [sku("DUFFEL")], 3),
        "unsubscribed shopper": body(shop["suppressed_user_id"], [sku("OUT")], 4),
        "loyal shopper again": body(loyal, [sku("OUT")], 5),
    }


class _EmailWatcher:
    """Reads email.outbound / email.delivered / email.failed from their ends, for the demo."""

    def __init__(self, bootstrap: str) -> None:
        from services.common.topics import EMAIL_DELIVERED, EMAIL_FAILED, EMAIL_OUTBOUND

        self.bootstrap = bootstrap
        self.topics = (EMAIL_OUTBOUND.name, EMAIL_DELIVERED.name, EMAIL_FAILED.name)

    async def start(self) -> None:
        from forgeline.tools.tail import tail_consumer

        self.consumer = await tail_consumer(self.bootstrap, self.topics)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def follow(self, carts: dict[str, str], say: Say, timeout_s: float) -> dict[str, str]:
        say(f"3. Following {len(carts)} cart(s) through the pipeline:")
        final: dict[str, str] = {}
        fallback: dict[str, bool] = {}
        started = time.monotonic()
        # Three topics, read by one consumer, arrive in any order: a cart is done once both its
        # composed email and its delivery outcome were seen.
        while (len(final) < len(carts) or len(fallback) < len(carts)) and time.monotonic() - started < timeout_s:
            batch = await self.consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    label = carts.get(event.get("cart_id", ""))
                    if label is None:
                        continue
                    stamp = f"[{time.monotonic() - started:4.1f}s] {label}"
                    if tp.topic.endswith("outbound"):
                        fallback[label] = event["fallback"]
                        stages = ", ".join(f"{k} {v:.0f} ms" for k, v in event.get("stage_ms", {}).items())
                        kind = "FALLBACK (" + "; ".join(event["failed_checks"])[:110] + ")" if event["fallback"] else "generated"
                        say(f"   {stamp}: composed from template {event['template_id']}, {kind}; {stages}")
                    elif tp.topic.endswith("delivered"):
                        final[label] = "sent"
                        say(f"   {stamp}: delivered over SMTP in {event.get('delivery_ms', 0):.0f} ms")
                    else:
                        final[label] = "not sent: " + event["reason"].split(":", 1)[0]
                        say(f"   {stamp}: not sent ({event['reason'][:90]})")
        return {
            label: f"{outcome} (fallback)" if outcome == "sent" and fallback.get(label) else outcome
            for label, outcome in final.items()
        }


def _plain_text(mail: Any) -> str:
    body = mail.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def _sink_mails(directory: Path, cart_ids: set[str]) -> list[Any]:
    from email import message_from_bytes, policy

    mails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(directory.glob("*.eml"))]
    return [m for m in mails if m["X-Forgeline-Cart"] in cart_ids]
