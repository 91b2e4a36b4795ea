"""The invariants a drill checks once its load has drained, each read where the effect happens:
the ledger and jobs in Postgres, the objects in S3, the decisions on their topic. Scoped to the
drill's own tenant, so a busy stack does not blur the verdict."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forgeline.drills.probes import Reader
from forgeline.load.run import LoadRecord
from services.common.broker import H_TENANT, kafka_client_options
from services.common.events import ModerationDecided
from services.common.retry import H_ERROR
from services.common.topics import DLQ_SUFFIX, MODERATION_DECIDED

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord

TERMINAL_JOB = ("succeeded", "failed", "rejected", "cancelled")
TERMINAL_CONTENT = ("decided", "in_review")


@dataclass(frozen=True)
class Audit:
    """What a drill's load left, read once."""

    tenant_id: str
    credits_before: int
    load: LoadRecord
    fault_windows: list[tuple[float, float]]  # seconds since the load started
    error_budget: int
    poisoned: dict[str, list[str]] = field(default_factory=dict)  # topic -> keys of the poison records sent
    cancelled: list[str] = field(default_factory=list)  # image jobs the drill cancelled
    replayed: list[str] = field(default_factory=list)  # topics whose dead letters the drill replayed


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


async def unfinished(reader: Reader, audit: Audit) -> int:
    """Accepted requests of the load not yet in a terminal state (0: the load has drained)."""
    jobs = [uuid.UUID(j) for j in audit.load.accepted("images")]
    items = [uuid.UUID(c) for c in audit.load.accepted("content")]
    open_jobs = await reader.db.fetchval(
        "SELECT count(*) FROM image_jobs WHERE job_id = ANY($1) AND status <> ALL($2)", jobs, list(TERMINAL_JOB)
    )
    known = await reader.db.fetchval("SELECT count(*) FROM image_jobs WHERE job_id = ANY($1)", jobs)
    open_items = await reader.db.fetchval(
        "SELECT count(*) FROM moderation_content WHERE content_id = ANY($1) AND status = ANY($2)", items, list(TERMINAL_CONTENT)
    )
    carts = audit.load.accepted("carts")
    open_carts = len(set(carts) - await _carts_settled(reader, audit)) if carts else 0
    pulls = audit.load.accepted("pull_requests")
    open_pulls = len(set(pulls) - set(await _reviews(reader, audit))) if pulls else 0
    echoes = [uuid.UUID(e) for e in audit.load.accepted("echo")]
    echoed = await reader.db.fetchval("SELECT count(DISTINCT echo_id) FROM echo_log WHERE echo_id = ANY($1)", echoes)
    return (
        int(open_jobs)
        + (len(jobs) - int(known))
        + (len(items) - int(open_items))
        + (len(echoes) - int(echoed))
        + open_carts
        + open_pulls
    )


CART_OUTCOMES = ("sent", "suppressed", "capped")
CART_DLQS = ("cart.abandoned", "email.outbound")  # where a cart can be dead-lettered


async def _cart_outcomes(reader: Reader, audit: Audit) -> dict[str, tuple[str, str]]:
    """The drill's carts that delivery decided: cart -> (status, message id)."""
    rows = await reader.db.fetch(
        "SELECT cart_id, status, message_id FROM email_sends WHERE tenant_id = $1 AND cart_id = ANY($2)",
        uuid.UUID(audit.tenant_id),
        audit.load.accepted("carts"),
    )
    return {r["cart_id"]: (r["status"], r["message_id"]) for r in rows}


async def _dead_carts(reader: Reader, audit: Audit) -> dict[str, str]:
    """The drill's carts on a DLQ that was not replayed: cart -> the error that put it there."""
    dead: dict[str, str] = {}
    for topic in CART_DLQS:
        if topic in audit.replayed:
            continue  # replayed: those carts must reach an outcome
        for record in await read_topic(reader, topic + DLQ_SUFFIX):
            headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
            if headers.get(H_TENANT) == audit.tenant_id:
                dead[(record.key or b"").decode()] = headers.get(H_ERROR, "")
    return dead


def _sink_mails(reader: Reader) -> dict[str, int]:
    """Mails at the SMTP sink: Message-ID -> count."""
    from email.parser import BytesHeaderParser

    parser = BytesHeaderParser()
    mails: dict[str, int] = defaultdict(int)
    for path in (reader.stack.home / "mail").glob("*.eml"):
        mails[str(parser.parsebytes(path.read_bytes()).get("Message-ID", ""))] += 1
    return mails


def _cart_settled(status: str, message_id: str, mails: dict[str, int]) -> bool:
    """An outcome, or the documented edge of at-most-once delivery: the claim is still `sending`
    because delivery died after the SMTP server took the mail and before recording it (the mail
    is at the sink; the cart is never sent again)."""
    return status in CART_OUTCOMES or (status == "sending" and mails.get(message_id, 0) > 0)


async def _carts_settled(reader: Reader, audit: Audit) -> set[str]:
    outcomes = await _cart_outcomes(reader, audit)
    # The drain loop asks every second: read the sink's mails only while a claim is in doubt.
    mails = _sink_mails(reader) if any(status == "sending" for status, _ in outcomes.values()) else {}
    settled = {cart for cart, (status, mid) in outcomes.items() if _cart_settled(status, mid, mails)}
    if settled >= set(audit.load.accepted("carts")):
        return settled  # the drain loop asks every second: read the DLQs only while a cart lacks an outcome
    return settled | set(await _dead_carts(reader, audit))


async def check(name: str, reader: Reader, audit: Audit) -> Verdict:
    """One invariant's verdict (the runner checks first that it knows every name)."""
    try:
        return await CHECKS[name](reader, audit)
    except Exception as error:  # an invariant that cannot be read is not a pass
        return Verdict(name, False, f"could not be checked: {type(error).__name__}: {error}")


async def _terminal(reader: Reader, audit: Audit) -> Verdict:
    left = await unfinished(reader, audit)
    accepted = sum(len(audit.load.accepted(name)) for name in ("images", "content", "echo", "carts", "pull_requests"))
    # A refused submission must leave nothing behind: a stored item nobody was told about
    # would stay pending for ever.
    leftovers = await reader.db.fetchval(
        "SELECT count(*) FROM moderation_content WHERE tenant_id = $1 AND NOT (content_id = ANY($2))",
        uuid.UUID(audit.tenant_id),
        [uuid.UUID(c) for c in audit.load.accepted("content")],
    )
    detail = f"{accepted - left} of {accepted} accepted requests terminal; {leftovers} refused items left stored"
    return Verdict("every_request_terminal", left == 0 and not leftovers, detail)


async def _credits(reader: Reader, audit: Audit) -> Verdict:
    prices = reader.settings.imagegen
    tenant = uuid.UUID(audit.tenant_id)
    balance = int(await reader.db.fetchval("SELECT credits FROM tenants WHERE id = $1", tenant))
    ledger = int(await reader.db.fetchval("SELECT coalesce(sum(delta), 0) FROM credit_ledger WHERE tenant_id = $1", tenant))
    rows = await reader.db.fetch(
        """
        SELECT j.job_id, j.status, j.cached, coalesce(sum(l.delta), 0) AS net
        FROM image_jobs j LEFT JOIN credit_ledger l ON l.job_id = j.job_id
        WHERE j.tenant_id = $1 GROUP BY j.job_id, j.status, j.cached
        """,
        tenant,
    )
    wrong = []
    expected = 0
    for row in rows:
        owed = (prices.cache_price_credits if row["cached"] else prices.price_credits) if row["status"] == "succeeded" else 0
        expected -= owed
        if int(row["net"]) != -owed:
            wrong.append(f"{row['job_id']} ({row['status']}): charged {-int(row['net'])}, owed {owed}")
    ok = balance - audit.credits_before == ledger == expected and not wrong
    detail = f"balance moved {balance - audit.credits_before}, ledger {ledger}, owed {expected}"
    return Verdict("credits_conserved", ok, detail + ("; " + "; ".join(wrong[:5]) if wrong else ""))


async def _pngs(reader: Reader, audit: Audit) -> Verdict:
    prefix = f"tenants/{audit.tenant_id}/images/"
    s3 = reader.stack.s3_client()
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=reader.settings.endpoints.s3_bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    succeeded = await reader.db.fetch(
        "SELECT job_id FROM image_jobs WHERE tenant_id = $1 AND status = 'succeeded'", uuid.UUID(audit.tenant_id)
    )
    want = sorted(f"{prefix}{row['job_id']}.png" for row in succeeded)
    ok = sorted(keys) == want
    extra, missing = sorted(set(keys) - set(want)), sorted(set(want) - set(keys))
    return Verdict(
        "one_png_per_succeeded_job",
        ok,
        f"{len(keys)} objects for {len(want)} succeeded jobs; extra {extra[:3]}, missing {missing[:3]}",
    )


async def read_topic(reader: Reader, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record a topic holds now (from the start of each partition to its end)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**kafka_client_options(reader.settings), enable_auto_commit=False)
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer.topics()  # loads the metadata partitions_for_topic reads
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return out
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out += records
    finally:
        await consumer.stop()
    return out


async def _decisions(reader: Reader, audit: Audit) -> Verdict:
    ours = set(audit.load.accepted("content"))
    decisions: dict[str, set[str]] = defaultdict(set)
    events = 0
    for record in await read_topic(reader, MODERATION_DECIDED.name):
        event = ModerationDecided.model_validate_json(record.value or b"{}")
        if str(event.content_id) in ours and event.supersedes is None:
            decisions[str(event.content_id)].add(str(event.decision_id))
            events += 1
    in_review = {
        str(row["content_id"])
        for row in await reader.db.fetch(
            "SELECT content_id FROM moderation_content WHERE content_id = ANY($1) AND status = 'in_review'",
            [uuid.UUID(c) for c in ours],
        )
    }
    twice = sorted(c for c, ids in decisions.items() if len(ids) > 1)
    none = sorted(c for c in ours if not decisions.get(c) and c not in in_review)
    ok = not twice and not none
    detail = f"{len(ours)} items: {len(decisions)} decided ({events} events), {len(in_review)} in review"
    detail += f"; two decisions {twice[:3]}, none {none[:3]}"
    return Verdict("one_decision_per_item", ok, detail)


async def _dead_letters(reader: Reader, audit: Audit) -> Verdict:
    """Every poison record the drill sent is on its topic's DLQ, each copy with its error."""
    parts, ok = [], True
    for topic, keys in audit.poisoned.items():
        found: dict[str, list[str]] = defaultdict(list)
        for record in await read_topic(reader, topic + DLQ_SUFFIX):
            key = (record.key or b"").decode(errors="replace")
            if key in keys:
                headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
                found[key].append(headers.get(H_ERROR, ""))
        missing = [k for k in keys if k not in found]
        silent = [k for k, errors in found.items() if not all(errors)]
        ok = ok and not missing and not silent
        copies = sum(len(e) for e in found.values())
        parts.append(f"{topic}: {len(found)} of {len(keys)} dead-lettered ({copies} copies), {len(silent)} without an error")
    return Verdict("dead_letters_accounted", ok, "; ".join(parts) or "the drill sent no poison")


async def _emails(reader: Reader, audit: Audit) -> Verdict:
    """Counted at the SMTP sink, by the Message-ID delivery stored for each cart: at most one mail
    per cart, a mail for every cart marked sent, and every cart with an outcome or a dead letter."""
    carts = audit.load.accepted("carts")
    outcomes = await _cart_outcomes(reader, audit)
    dead = await _dead_carts(reader, audit)
    mails = _sink_mails(reader)
    twice = sorted(c for c, (_, mid) in outcomes.items() if mails.get(mid, 0) > 1)
    lost = sorted(c for c, (status, mid) in outcomes.items() if status == "sent" and not mails.get(mid))
    unaccounted = sorted(c for c in carts if not _cart_settled(*outcomes.get(c, ("", "")), mails) and c not in dead)
    silent = sorted(c for c, error in dead.items() if not error)
    by_status: dict[str, int] = defaultdict(int)
    for status, _ in outcomes.values():
        by_status[status] += 1
    ok = not (twice or lost or unaccounted or silent)
    detail = f"{len(carts)} carts: {dict(by_status)}, {len(dead)} dead-lettered; "
    detail += f"two mails {twice[:3]}, sent without a mail {lost[:3]}, unaccounted {unaccounted[:3]}, no error {silent[:3]}"
    return Verdict("one_email_per_cart", ok, detail)


async def _reviews(reader: Reader, audit: Audit) -> dict[str, int]:
    """Reviews posted at the GitHub stand-in for the drill's pull requests: `repo#number@head` -> count."""
    ours = set(audit.load.accepted("pull_requests"))
    counts: dict[str, int] = defaultdict(int)
    for review in await reader.github.reviews():
        name = f"{review['repo']}#{review['number']}@{review.get('commit_id')}"
        if name in ours:
            counts[name] += 1
    return counts


async def _one_review(reader: Reader, audit: Audit) -> Verdict:
    pulls = audit.load.accepted("pull_requests")
    counts = await _reviews(reader, audit)
    twice = sorted(p for p, n in counts.items() if n > 1)
    none = sorted(p for p in pulls if not counts.get(p))
    detail = f"{len(pulls)} pull requests, {len(counts)} reviewed; twice {twice[:3]}, none {none[:3]}"
    return Verdict("one_review_per_head_sha", not twice and not none, detail)


async def _cancelled(reader: Reader, audit: Audit) -> Verdict:
    """Every job the drill cancelled ended `cancelled`, or `succeeded` when its image was already stored."""
    rows = await reader.db.fetch(
        "SELECT job_id, status FROM image_jobs WHERE job_id = ANY($1)", [uuid.UUID(j) for j in audit.cancelled]
    )
    by_status: dict[str, int] = defaultdict(int)
    for row in rows:
        by_status[row["status"]] += 1
    ok = set(by_status) <= {"cancelled", "succeeded"} and by_status["cancelled"] > 0
    return Verdict("cancelled_jobs_compensated", ok, f"{len(audit.cancelled)} cancelled: {dict(by_status)}")


async def _server_errors(reader: Reader, audit: Audit) -> Verdict:
    errors = audit.load.server_errors()
    outside = [e for e in errors if not any(start - 1.0 <= e.at_s <= end + 5.0 for start, end in audit.fault_windows)]
    ok = not outside and len(errors) <= audit.error_budget
    return Verdict(
        "gateway_5xx_in_fault_window",
        ok,
        f"{len(errors)} 5xx or unanswered (budget {audit.error_budget}), {len(outside)} outside the fault windows",
    )


async def _echo_effects(reader: Reader, audit: Audit) -> Verdict:
    """Counted in echo_log, which is append-only with no unique index: a second effect of a
    redelivered echo would be a second row."""
    echoes = [uuid.UUID(e) for e in audit.load.accepted("echo")]
    rows = await reader.db.fetch(
        "SELECT echo_id, count(*) AS n FROM echo_log WHERE echo_id = ANY($1) GROUP BY echo_id HAVING count(*) > 1", echoes
    )
    twice = [f"{r['echo_id']} x{r['n']}" for r in rows]
    return Verdict("one_effect_per_echo", not twice, f"{len(echoes)} echoes, {len(twice)} with more than one effect {twice[:3]}")


CHECKS = {
    "every_request_terminal": _terminal,
    "credits_conserved": _credits,
    "one_png_per_succeeded_job": _pngs,
    "one_decision_per_item": _decisions,
    "gateway_5xx_in_fault_window": _server_errors,
    "dead_letters_accounted": _dead_letters,
    "cancelled_jobs_compensated": _cancelled,
    "one_email_per_cart": _emails,
    "one_review_per_head_sha": _one_review,
    "one_effect_per_echo": _echo_effects,
}
