"""Delivery: `email.outbound` -> SMTP, at most one email per cart.

Order of checks: suppression list, per-user frequency cap, then the per-cart claim. The
claim row (`email_sends`, status `sending`) is written **before** the SMTP call and set to
`sent` after it; a redelivered message that finds `sent` or `sending` sends nothing.

The edge case, documented: a process killed after the claim and before the SMTP server
accepted the message leaves the cart `sending` with no email sent; it is reported on
`email.failed` ("delivery state unknown") instead of being re-sent, because from the
database alone that case cannot be told from "killed after the server accepted it". At
most once beats twice for marketing email. An SMTP error we do see (refused, timeout before
acceptance) releases the claim, so retries and DLQ replays send it.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import asyncpg
from prometheus_client import Counter

from services.common.events import EmailDelivered, EmailFailed, EmailOutbound
from services.common.faults import FaultFlags

OUTCOMES = Counter(
    "forgeline_email_delivery_total", "Delivery outcomes (sent, suppressed, capped, duplicate, unknown).", ["outcome"]
)


class Mailer(Protocol):
    """Hands one message to an SMTP server (raises if it was not accepted)."""

    async def send(self, message: EmailMessage) -> None:
        """Send, or raise."""
        ...


class SmtpMailer:
    """stdlib smtplib in a thread: one connection per message (the sink and real MTAs both accept it)."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(message)

    async def send(self, message: EmailMessage) -> None:
        """Send, or raise the SMTP/OS error."""
        await asyncio.to_thread(self._send, message)


@dataclass
class DeliveryDeps:
    """What delivery needs (passed in by the wiring)."""

    pool: asyncpg.Pool
    mailer: Mailer
    publish_delivered: Callable[[EmailDelivered], Awaitable[None]]
    publish_failed: Callable[[EmailFailed], Awaitable[None]]
    faults: FaultFlags
    sender: str
    cap_hours: float


def message_id(event: EmailOutbound) -> str:
    """Stable per cart, so a resend (if one ever happened) would carry the same Message-ID."""
    return f"<{uuid.uuid5(event.tenant_id, 'cart/' + event.cart_id)}@forgeline>"


def build_message(event: EmailOutbound, sender: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = event.to
    message["Subject"] = event.subject
    message["Message-ID"] = message_id(event)
    message["X-Forgeline-Cart"] = event.cart_id
    message["X-Forgeline-Template"] = event.template_id
    message.set_content(event.text)
    message.add_alternative(event.html, subtype="html")
    return message


async def deliver_email(event: EmailOutbound, deps: DeliveryDeps) -> str:
    """Send one cart's email unless suppressed, capped or already handled; the outcome."""
    msg_id = message_id(event)
    started = time.perf_counter()
    async with deps.pool.acquire() as conn, conn.transaction():
        # One user at a time: the cap check and the claim must not interleave for two carts.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{event.tenant_id}/{event.user_id}")
        existing = await conn.fetchval(
            "SELECT status FROM email_sends WHERE tenant_id = $1 AND cart_id = $2", event.tenant_id, event.cart_id
        )
        if existing is not None:
            outcome = "duplicate" if existing != "sending" else "unknown"
        elif await conn.fetchval(
            "SELECT reason FROM email_suppressions WHERE tenant_id = $1 AND lower(email) = lower($2)", event.tenant_id, event.to
        ):
            outcome = "suppressed"
        elif await conn.fetchval(
            "SELECT true FROM email_sends WHERE tenant_id = $1 AND user_id = $2 AND status IN ('sending', 'sent') "
            "AND created_at > now() - make_interval(secs => $3)",
            event.tenant_id,
            event.user_id,
            deps.cap_hours * 3600,
        ):
            outcome = "capped"
        else:
            outcome = "claimed"
        if outcome in ("claimed", "suppressed", "capped"):
            await conn.execute(
                "INSERT INTO email_sends (tenant_id, cart_id, user_id, recipient, status, message_id, fallback, failed_checks, "
                "subject, html, template_id, stage_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                event.tenant_id,
                event.cart_id,
                event.user_id,
                event.to,
                "sending" if outcome == "claimed" else outcome,
                msg_id,
                event.fallback,
                json.dumps(event.failed_checks),
                event.subject,
                event.html,
                event.template_id,
                json.dumps(event.stage_ms),
            )
    if outcome != "claimed":
        OUTCOMES.labels(outcome).inc()
        if outcome == "duplicate" and existing == "sent":
            await deps.publish_delivered(_delivered(event, msg_id))
        elif outcome != "duplicate":
            await deps.publish_failed(_failed(event, outcome))
        return outcome
    try:
        await deps.faults.check("email.smtp", event.cart_id)
        await deps.mailer.send(build_message(event, deps.sender))
    except Exception:
        # Not accepted: release the claim so a retry (or a DLQ replay) sends it.
        await deps.pool.execute(
            "DELETE FROM email_sends WHERE tenant_id = $1 AND cart_id = $2 AND status = 'sending'", event.tenant_id, event.cart_id
        )
        raise
    await deps.faults.check("email.after_send", event.cart_id)  # drills kill the process here
    await deps.pool.execute(
        "UPDATE email_sends SET status = 'sent', sent_at = now() WHERE tenant_id = $1 AND cart_id = $2",
        event.tenant_id,
        event.cart_id,
    )
    OUTCOMES.labels("sent").inc()
    await deps.publish_delivered(_delivered(event, msg_id, (time.perf_counter() - started) * 1000))
    return "sent"


def _delivered(event: EmailOutbound, msg_id: str, delivery_ms: float = 0.0) -> EmailDelivered:
    return EmailDelivered(
        event_id=uuid.uuid5(event.tenant_id, f"email.delivered/{event.cart_id}"),
        tenant_id=event.tenant_id,
        cart_id=event.cart_id,
        user_id=event.user_id,
        message_id=msg_id,
        fallback=event.fallback,
        delivery_ms=round(delivery_ms, 1),
    )


REASONS = {
    "suppressed": "the address is on the suppression list",
    "capped": "the shopper already got a cart email inside the frequency-cap window",
    "unknown": "delivery state unknown: an earlier attempt stopped between claiming and confirming the send; "
    "not re-sent, to keep at most one email per cart",
}


def dead_lettered(event: EmailOutbound, reason: str) -> EmailFailed:
    """`email.failed` for an email the retries gave up on (it waits in the DLQ for a replay)."""
    return EmailFailed(
        event_id=uuid.uuid5(event.tenant_id, f"email.failed/dead-letter/{event.cart_id}"),
        tenant_id=event.tenant_id,
        cart_id=event.cart_id,
        user_id=event.user_id,
        reason=f"dead-lettered: {reason[:300]} (replay with `forgeline dlq replay email.outbound`)",
    )


def _failed(event: EmailOutbound, outcome: str) -> EmailFailed:
    return EmailFailed(
        event_id=uuid.uuid5(event.tenant_id, f"email.failed/{event.cart_id}"),
        tenant_id=event.tenant_id,
        cart_id=event.cart_id,
        user_id=event.user_id,
        reason=f"{outcome}: {REASONS[outcome]}",
    )


async def recent_sends(pool: asyncpg.Pool, tenant_id: uuid.UUID, limit: int) -> list[asyncpg.Record]:
    """The tenant's latest send records, newest first (no recipient address)."""
    return list(
        await pool.fetch(
            "SELECT cart_id, user_id, status, fallback, failed_checks, subject, html, template_id, stage_ms, created_at, sent_at "
            "FROM email_sends WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2",
            tenant_id,
            limit,
        )
    )
