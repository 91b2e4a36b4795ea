"""End-to-end demos, narrated in plain words. Each returns True when it saw what it expected."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.common.settings import Settings

Say = Callable[[str], None]


async def run_all(settings: Settings, state: dict[str, Any], say: Say) -> bool:
    """Every demo that exists so far."""
    results = {"spine": await spine(settings, state, say)}
    say("")
    results["image"] = await image(settings, state, say)
    say("")
    results["email"] = await email(settings, state, say)
    say("")
    from forgeline.demo_moderation import moderation

    results["moderation"] = await moderation(settings, state, say)
    say("")
    from forgeline.demo_codereview import codereview

    results["codereview"] = await codereview(settings, state, say)
    say("")
    for name, ok in results.items():
        say(f"demo {name}: {'PASSED' if ok else 'FAILED'}")
    return all(results.values())


def _gateway_and_key(state: dict[str, Any], say: Say) -> tuple[str | None, str | None]:
    """The gateway URL and demo tenant key from stack.json (None, saying what to do, if not up)."""
    gateway = state.get("components", {}).get("gateway", {}).get("endpoint")
    key = state.get("demo_tenant", {}).get("api_key")
    if not gateway or not key:
        say("The stack is not up (no gateway or demo tenant in stack.json). Run `forgeline up` first.")
    return gateway, key


async def spine(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 30.0) -> bool:
    """Send one echo through the platform and watch it come back on the live stream."""
    gateway, key = _gateway_and_key(state, say)
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


FAULT_MARK = "fault-demo"


async def image(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 120.0) -> bool:
    """Image jobs: three prompts, a repeat served from the cache, one saga compensated on purpose."""
    gateway, key = _gateway_and_key(state, say)
    if not gateway or not key:
        return False
    faults = Path(state.get("faults_file") or settings.state_dir / "faults")
    out_dir = settings.state_dir / "demo-images"
    out_dir.mkdir(parents=True, exist_ok=True)
    run = time.strftime("%H%M%S")  # new prompts each run, so the first pass is never a cache hit
    prompts = [
        f"a lighthouse at dusk, oil painting ({run})",
        f"a red fox asleep in snow ({run})",
        f"a bridge over a canyon {FAULT_MARK} ({run})",
    ]
    say("== image demo: HTTP -> Kafka -> Temporal saga -> Ray Serve -> S3, with the cache and a compensation ==")
    say("   (the local model is a tiny random network: its pictures are noise; every step around it is real)")
    headers = {"Authorization": f"Bearer {key}"}
    # The third job's billing step fails for good: the saga must delete its PNG and refund it.
    with extra_fault(faults, f"imagegen.log_transaction: fail 100% match={FAULT_MARK}"):
        try:
            return await _image_jobs(settings, gateway, headers, prompts, out_dir, say, timeout_s)
        except TimeoutError:
            say(f"Jobs did not finish within {timeout_s:.0f}s. See `forgeline logs imagegen-worker` and `... imagegen`.")
            return False


@contextmanager
def extra_fault(path: Path, rule: str) -> Iterator[None]:
    """Add one fault-flag rule for the duration, then put the file back as it was."""
    previous = path.read_text() if path.exists() else ""
    path.write_text(previous + rule + "\n")
    try:
        yield
    finally:
        path.write_text(previous)


async def _image_jobs(
    settings: Settings, gateway: str, headers: dict[str, str], prompts: list[str], out_dir: Path, say: Say, timeout_s: float
) -> bool:
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=15) as client:
        before = (await client.get("/v1/tenants/me")).json()["credits"]
        say(
            f"1. Balance before: {before} credits (a generated image costs {settings.image_price_credits}, "
            f"a cache hit {settings.image_cache_price_credits})."
        )
        jobs = await _submit_all(client, prompts, say)
        first = await _follow(client, jobs, say, timeout_s)
        say("3. The lighthouse again (other spacing and case: the cache normalises the prompt) ...")
        repeat = await _submit_all(client, [prompts[0].upper().replace(" ", "  ")], say, start=len(jobs) + 1)
        second = await _follow(client, repeat, say, timeout_s)
        results = {**first, **second}
        say("4. Results:")
        for job_id, job in results.items():
            prompt = f"{job['params']['prompt'][:44]!r:<48}"
            line = f"   {prompt} {job['status']:<9} cached={job['cached']!s:<5} charged={job['credits_charged']}"
            if job["status"] == "succeeded":
                path = out_dir / f"{job_id}.png"
                path.write_bytes((await client.get(job["image_url"])).content)
                line += f"  -> {path}"
            else:
                line += f"  ({job['reason']})"
            say(line)
        after = (await client.get("/v1/tenants/me")).json()["credits"]
        expected = before - 2 * settings.image_price_credits - settings.image_cache_price_credits
        say(f"5. Balance after: {after} credits (expected {expected}: two images, one cache hit, one refunded failure).")
        say(f"   PNGs are in S3 under tenants/<tenant id>/images/; copies are in {out_dir}.")
        say(f"   Follow a job end to end with: forgeline trace {next(iter(results))}")
        statuses = sorted((j["status"], j["cached"]) for j in results.values())
        wanted = [("failed", False), ("succeeded", False), ("succeeded", False), ("succeeded", True)]
        return bool(after == expected and statuses == wanted)


async def _submit_all(client: httpx.AsyncClient, prompts: list[str], say: Say, start: int = 1) -> dict[str, str]:
    jobs = {}
    for number, prompt in enumerate(prompts, start=start):
        response = await client.post("/v1/images", json={"prompt": prompt, "width": 128, "height": 128, "steps": 4, "seed": 42})
        accepted = response.json()
        jobs[accepted["job_id"]] = prompt
        say(f"2. Job {number} queued at once (202): {prompt[:40]!r} -> {accepted['job_id']}")
    return jobs


async def _follow(client: httpx.AsyncClient, jobs: dict[str, str], say: Say, timeout_s: float) -> dict[str, dict[str, Any]]:
    """Follow each job's SSE stream, printing every status change as it happens."""
    started = time.monotonic()

    async def one(job_id: str) -> dict[str, Any]:
        async with client.stream("GET", f"/v1/images/{job_id}/events", timeout=None) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    status = json.loads(line.split(":", 1)[1]).get("status")
                    say(f"   [{time.monotonic() - started:5.1f}s] {jobs[job_id][:40]!r}: {status}")
        job: dict[str, Any] = (await client.get(f"/v1/images/{job_id}")).json()
        return job

    results = await asyncio.wait_for(asyncio.gather(*(one(j) for j in jobs)), timeout_s)
    return dict(zip(jobs, results, strict=True))


async def email(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 90.0) -> bool:
    """Cart-abandonment emails: seed the shop, fire five carts, follow each stage, show the mail."""
    import asyncpg

    from forgeline.seed import seed

    gateway, _ = _gateway_and_key(state, say)
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
        async with httpx.AsyncClient(base_url=gateway, timeout=15) as client:
            headers = {"Authorization": f"Bearer {shop['tenant']['api_key']}"}
            # The repeat cart goes last, once the first has been sent, so the frequency cap
            # has something to cap (carts of one batch run concurrently).
            *first, repeat = carts.items()
            outcomes: dict[str, str] = {}
            for wave in (first, [repeat]):
                for label, body in wave:
                    response = await client.post("/v1/events/cart-abandoned", json=body, headers=headers)
                    answer = response.json().get("status", response.text)
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
        from forgeline.tail import tail_consumer

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
