"""Round trips through the chart's containers, each checked where its effect lands: the echo
row, the PNG in S3, the moderation decision, the mail at the SMTP sink, the review at the GitHub
stand-in. Then the cluster's own script, k8s/e2e.sh, with a kubectl that stands in for this
deployment. Then two faults: a service's process killed mid-work, and Postgres cut off, which
must turn the services that read it not ready without their liveness probes restarting them.

Everything goes through the gateway's API, as a user's would; the host reaches each pod's
address on the podman network (the backing's servers advertise its name, which only the
containers resolve, so Kafka is never read from here)."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from forgeline.containers.manifests import RELEASE
from forgeline.containers.platform import BACKING, Platform
from forgeline.stack.components import LOCAL_S3_KEYS
from forgeline.stack.ports import free_ports
from forgeline.standins.github import StandInClient
from forgeline.standins.review_samples import fake_sha, planted_pull, pull_request_payload, send_webhook
from forgeline.tools.interrupts import interrupts_deferred
from services.common.clients import create_s3
from services.common.settings import get_settings

Say = Callable[[str], None]
REPO = "forgeline/containers-e2e"
CREDITS = 100
WAIT_S = 300.0  # a bound on a hang, not a speed requirement


class RoundTripError(AssertionError):
    """A round trip did not land its effect; the message names the container to read."""


@dataclass
class Client:
    """The deployment as the host reaches it."""

    platform: Platform
    http: httpx.AsyncClient
    key: str = ""
    tenant_id: uuid.UUID | None = None
    shop: dict[str, Any] = field(default_factory=dict)  # the tenant's seeded shop: what a cart may name
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.platform.url(self.platform.container(f"{RELEASE}-gateway"), 8080)

    def backing(self, part: str) -> str:
        """A backing server's endpoint as stack.json has it, on the backing container's address."""
        endpoint = str(self.platform.backing_state()["components"][part]["endpoint"])
        address = self.platform.ip(BACKING)
        assert address is not None
        return endpoint.replace("127.0.0.1", address)

    async def api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(
            method, f"{self.gateway}{path}", headers={"Authorization": f"Bearer {self.key}"}, **kwargs
        )
        if response.status_code >= 400:
            raise RoundTripError(f"{method} {path} -> {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return body

    async def until(self, what: str, probe: Callable[[], Awaitable[Any] | Any], deployment: str) -> Any:
        """Await `probe()` (a coroutine function or a plain one) until it returns something
        truthy; fail naming where to look."""
        deadline = time.monotonic() + WAIT_S
        while True:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() > deadline:
                raise RoundTripError(f"{what}: nothing after {WAIT_S:.0f}s; `podman logs {self.platform.container(deployment)}`")
            await asyncio.sleep(1)

    async def status(self, path: str, done: set[str], deployment: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            body = await self.api("GET", path)
            return body if body["status"] in done else None

        result: dict[str, Any] = await self.until(f"GET {path} in {sorted(done)}", probe, deployment)
        return result

    async def sql(self, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.backing("postgres"))
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


async def tenant(c: Client, say: Say) -> None:
    """A tenant with credits and a seeded shop (for carts), straight in the database."""
    from forgeline.tools.seed import seed_shop
    from services.gateway.tenants import create_tenant

    conn = await asyncpg.connect(c.backing("postgres"))
    try:
        created, c.key = await create_tenant(conn, f"containers-e2e-{uuid.uuid4().hex[:6]}", CREDITS)
        c.tenant_id = created.id
        c.shop = await seed_shop(conn, created.id, users=20)
    finally:
        await conn.close()
    say(f"tenant {created.name} with {CREDITS} credits and a seeded shop")


async def echo(c: Client, say: Say) -> None:
    accepted = await c.api("POST", "/v1/echo", json={"message": "hello from the chart's containers"})
    done = await c.status(f"/v1/echo/{accepted['echo_id']}", {"done"}, f"{RELEASE}-echo")
    say(f"echo: gateway -> Kafka -> echo -> Postgres, processed by {done['processed_by']}")


async def image(c: Client, say: Say) -> None:
    """One image job through the saga; the PNG is read back from S3."""
    body = {"prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2, "seed": 1}
    job = (await c.api("POST", "/v1/images", json=body))["job_id"]
    view = await c.status(f"/v1/images/{job}", {"succeeded", "failed", "cancelled"}, f"{RELEASE}-imagegen-worker")
    if view["status"] != "succeeded":
        raise RoundTripError(f"image job {job} ended {view['status']}: {view['reason']}")
    bucket, key = urlsplit(view["image_url"]).path.lstrip("/").split("/", 1)
    endpoints = {"s3_endpoint_url": c.backing("s3")} | dict(
        zip(("aws_access_key_id", "aws_secret_access_key"), LOCAL_S3_KEYS, strict=True)
    )
    s3 = create_s3(get_settings().replace(endpoints=endpoints))
    png = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if not png.startswith(b"\x89PNG"):
        raise RoundTripError(f"s3://{bucket}/{key} is not a PNG")
    say(f"image: saga on Temporal -> Ray Serve -> s3://{bucket}/{key} ({len(png)} bytes), {view['credits_charged']} credit(s)")


async def moderation(c: Client, say: Say) -> None:
    body = {"text": "Lovely weather for a walk today", "author_id": "e2e", "country": "US"}
    item = (await c.api("POST", "/v1/content", json=body))["content_id"]
    view = await c.status(f"/v1/content/{item}", {"decided", "in_review"}, f"{RELEASE}-moderation-classifier")
    say(f"moderation: {view['status']} by tier {view['tier']} ({view['decision']}; policy {view['policy_version']})")


async def email(c: Client, say: Say) -> None:
    """A cart of a subscribed shopper: composed, delivered, and one mail at the SMTP sink."""
    shop = c.shop
    user = next(u["user_id"] for u in shop["users"] if u["user_id"] != shop["suppressed_user_id"])
    cart = f"e2e-{uuid.uuid4().hex[:8]}"
    items = [{"sku": shop["skus"][0]["sku"], "quantity": 1, "unit_price": shop["skus"][0]["price"]}]
    await c.api("POST", "/v1/events/cart-abandoned", json={"cart_id": cart, "user_id": user, "items": items, "currency": "USD"})

    async def sent() -> bool:
        status = await c.sql("SELECT status FROM email_sends WHERE tenant_id = $1 AND cart_id = $2", c.tenant_id, cart)
        return bool(status == "sent")

    await c.until(f"cart {cart} sent", sent, f"{RELEASE}-email-delivery")
    mails = mails_for(c.platform, cart)
    if len(mails) != 1:
        raise RoundTripError(f"cart {cart}: {len(mails)} mails at the SMTP sink, expected exactly one")
    say(f"email: cart {cart} -> composer -> delivery -> one mail at the sink: {mails[0]['Subject']!r}")


def mails_for(platform: Platform, cart: str) -> list[Any]:
    """The SMTP sink's mails for one cart (the backing's mail folder is on this machine)."""
    found = (message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted((platform.home / "mail").glob("*.eml")))
    return [m for m in found if m["X-Forgeline-Cart"] == cart]


async def review(c: Client, say: Say) -> None:
    """A signed pull_request webhook for a PR on the stand-in: one review posted."""
    number = int(time.time()) % 100_000
    head = fake_sha(f"containers-e2e-{number}")
    github = StandInClient(c.http, c.backing("github"))
    await github.add_pull(REPO, number, head, planted_pull())
    payload = pull_request_payload(REPO, number, head, fake_sha("containers-e2e-base"), title="Orders: lookups")
    response = await send_webhook(c.http, c.gateway, webhook_secret(c.platform), payload)
    if response.status_code != 202:
        raise RoundTripError(f"webhook -> {response.status_code} {response.text[:200]}")

    async def posted() -> bool:
        status = await c.sql("SELECT status FROM review_runs WHERE repo = $1 AND number = $2", REPO, number)
        return bool(status == "posted")

    await c.until(f"{REPO}#{number} reviewed", posted, f"{RELEASE}-codereview-publisher")
    reviews = await github.reviews(REPO, number)
    if len(reviews) != 1:
        raise RoundTripError(f"{REPO}#{number}: {len(reviews)} reviews at the stand-in, expected exactly one")
    say(f"review: {REPO}#{number} -> {reviews[0]['event']} with {len(reviews[0]['comments'])} inline comment(s)")


def webhook_secret(platform: Platform) -> str:
    """GITHUB_WEBHOOK_SECRET from the chart's Secret (the podman payload: key -> base64 value)."""
    for payload in platform.manifests.secrets.values():
        values = json.loads(payload)
        if "GITHUB_WEBHOOK_SECRET" in values:
            return base64.b64decode(values["GITHUB_WEBHOOK_SECRET"]).decode()
    raise RoundTripError("the chart rendered no GITHUB_WEBHOOK_SECRET")


ROUND_TRIPS: dict[str, Callable[[Client, Say], Awaitable[None]]] = {
    "echo": echo,
    "image": image,
    "moderation": moderation,
    "email": email,
    "review": review,
}


SCRIPT = Path(__file__).resolve().parents[2] / "k8s" / "e2e.sh"


async def cluster_script(c: Client, say: Say) -> dict[str, Any]:
    """The cluster's own end-to-end script (k8s/e2e.sh, `make e2e-k8s`), unchanged, with the
    kubectl stand-in for this deployment first on its PATH."""
    env = c.platform.kubectl_env() | {"NAMESPACE": RELEASE, "RELEASE": RELEASE, "PORT": str(free_ports(1)[0])}
    script = await asyncio.create_subprocess_exec(
        "bash", str(SCRIPT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(script.communicate(), WAIT_S * 2)
    lines = output.decode(errors="replace").splitlines()
    if script.returncode != 0:
        raise RoundTripError(f"k8s/e2e.sh exited {script.returncode} under the kubectl stand-in:\n" + "\n".join(lines[-30:]))
    steps = [line.removeprefix("==> ") for line in lines if line.startswith("==> ")]
    say(f"k8s/e2e.sh passed, unchanged: {'; '.join(steps[3:-1])}")
    return {"passed": True, "steps": steps}


async def worker_killed_mid_saga(c: Client, say: Say, jobs: int = 6) -> dict[str, Any]:
    """kill -9 the saga worker's process while image jobs are in flight; the restart policy
    brings the container back, and every job must still succeed with the credits conserved."""
    podman, worker = c.platform.podman, c.platform.container(f"{RELEASE}-imagegen-worker")
    body = {"prompt": "a harbour at night", "width": 64, "height": 64, "steps": 8}
    ids = [(await c.api("POST", "/v1/images", json=body | {"seed": n}))["job_id"] for n in range(jobs)]

    async def one_running() -> bool:
        statuses = [(await c.api("GET", f"/v1/images/{j}"))["status"] for j in ids]
        return "running" in statuses

    await c.until("an image job running", one_running, f"{RELEASE}-imagegen")
    state = podman.inspect(worker)
    restarts = state["RestartCount"]
    # kill -9 of its process, as a crash: `podman kill` counts as stopped by the user, and a
    # restart policy leaves such a container stopped.
    os.kill(state["State"]["Pid"], signal.SIGKILL)
    in_flight = {j: s for j in ids if (s := (await c.api("GET", f"/v1/images/{j}"))["status"]) in ("queued", "running")}
    if not in_flight:
        raise RoundTripError("every job had finished before the kill: it struck no work (inconclusive)")
    say(f"killed {worker} (kill -9) with {len(in_flight)} of {jobs} jobs in flight: {sorted(set(in_flight.values()))}")

    async def restarted() -> bool:
        state = podman.inspect(worker)
        return bool(state["RestartCount"] > restarts and state["State"]["Running"])

    await c.until(f"{worker} restarted by its restart policy", restarted, f"{RELEASE}-imagegen-worker")
    views = [await c.status(f"/v1/images/{j}", {"succeeded", "failed", "cancelled"}, f"{RELEASE}-imagegen-worker") for j in ids]
    outcomes = {v["status"] for v in views}
    if outcomes != {"succeeded"}:
        raise RoundTripError(f"after the kill: {[(v['job_id'], v['status'], v['reason']) for v in views]}")
    # Credits conserved: the balance is what the tenant started with less what every one of its
    # jobs says it was charged (a charge lost or taken twice by the retried saga shows here).
    images = await c.sql("SELECT coalesce(sum(credits_charged), 0) FROM image_jobs WHERE tenant_id = $1", c.tenant_id)
    balance = (await c.api("GET", "/v1/tenants/me"))["credits"]
    if balance != CREDITS - images:
        raise RoundTripError(f"credits not conserved: balance {balance}, started {CREDITS}, jobs charged {images}")
    say(f"the worker came back (restart policy); all {jobs} jobs succeeded; credits conserved ({CREDITS} - {images} = {balance})")
    return {"container": worker, "jobs": jobs, "in_flight_at_kill": len(in_flight), "outcomes": sorted(outcomes)}


@contextmanager
def refused(platform: Platform, port: int) -> Iterator[None]:
    """The backing container refuses other containers' connections to `port` (an iptables rule in
    its network namespace; its own parts, on loopback, are spared) until the block ends."""
    rule = ["INPUT", "!", "-i", "lo", "-p", "tcp", "--dport", str(port), "-j", "REJECT", "--reject-with", "tcp-reset"]

    def iptables(action: str) -> None:
        pid = str(platform.podman.inspect(BACKING)["State"]["Pid"])
        done = subprocess.run(["nsenter", "-t", pid, "-n", "iptables", action, *rule], capture_output=True, text=True)
        if done.returncode != 0:
            raise RoundTripError(f"iptables {action} in {BACKING}'s network namespace: {done.stderr.strip()[:300]}")

    iptables("-I")
    try:
        yield
    finally:
        with interrupts_deferred(f"removing the rule that cuts off port {port}"):
            iptables("-D")


async def postgres_outage(c: Client, say: Say) -> dict[str, Any]:
    """Postgres cut off: the services that read it turn not ready (their /readyz checks it) and
    their liveness probes keep passing, so none is restarted; with Postgres back, all turn ready."""
    platform, kubelet = c.platform, c.platform.kubelet
    assert kubelet is not None
    containers = [platform.container(d) for d in platform.deployments()]
    gateway = platform.container(f"{RELEASE}-gateway")
    podman_restarts = {name: platform.podman.inspect(name)["RestartCount"] for name in containers}
    kubelet_restarts, events = kubelet.restarts(), len(kubelet.events)
    port = urlsplit(c.backing("postgres")).port
    assert port is not None
    with refused(platform, port):
        started = time.monotonic()
        await c.until("the gateway not ready without Postgres", lambda: not kubelet.ready(gateway), f"{RELEASE}-gateway")
        # Held until each liveness probe has passed one more time than its failureThreshold:
        # a liveness probe that checked Postgres would have restarted its container by then.
        passes = {name: kubelet.passes(name, "liveness") for name in containers}
        threshold = max(p.failure_threshold for p in kubelet.probes if p.kind == "liveness")

        def outlasted() -> bool:
            return all(kubelet.passes(name, "liveness") - passes[name] > threshold for name in containers)

        await c.until("every liveness probe passing through the outage", outlasted, f"{RELEASE}-gateway")
        not_ready = sorted({e["container"] for e in kubelet.events[events:] if e["event"] == "not ready"})
        held = round(time.monotonic() - started, 1)
    say(f"Postgres cut off for {held}s: {len(not_ready)} containers not ready, liveness passing in all {len(containers)}")
    recovered = time.monotonic()
    await c.until("every container ready again", lambda: not kubelet.not_ready(), f"{RELEASE}-gateway")
    restarted = [name for name in containers if platform.podman.inspect(name)["RestartCount"] != podman_restarts[name]]
    if restarted or kubelet.restarts() != kubelet_restarts:
        raise RoundTripError(f"restarted during the outage: {restarted}, by liveness: {kubelet.restarts() - kubelet_restarts}")
    say(f"Postgres back: all ready again in {time.monotonic() - recovered:.1f}s, no container restarted")
    return {
        "held_s": held,
        "not_ready": not_ready,
        "liveness_passed_in": len(containers),
        "restarted": restarted,
        "ready_again_s": round(time.monotonic() - recovered, 1),
    }


async def _checks(platform: Platform, say: Say) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        c = Client(platform, http)
        await tenant(c, say)
        for name, trip in ROUND_TRIPS.items():
            started = time.monotonic()
            await trip(c, say)
            c.report[name] = {"passed": True, "seconds": round(time.monotonic() - started, 1)}
        c.report["k8s_e2e_sh"] = await cluster_script(c, say)
        c.report["faults"] = {
            "worker_killed_mid_saga": await worker_killed_mid_saga(c, say),
            "postgres_outage": await postgres_outage(c, say),
        }
        return c.report


def run(platform: Platform, say: Say, logs: Path | None = None) -> dict[str, Any]:
    """Deploy, check, tear down (also on failure, after keeping every container's log in `logs`)."""
    started = time.monotonic()
    try:
        platform.up(say)
        report = asyncio.run(_checks(platform, say))
    except BaseException:
        if logs is not None:
            platform.save_logs(logs)
            say(f"every container's log is in {logs}")
        raise
    finally:
        leftovers = platform.down()
        if leftovers:
            say(f"podman could not remove: {leftovers}")
    assert platform.kubelet is not None
    return {
        "deployments": platform.deployments(),
        "stood_in": platform.manifests.stood_in,
        "image_mb": platform.image_sizes_mb(),
        "timings_s": platform.timings | {"total": round(time.monotonic() - started, 1)},
        "probe_events": platform.kubelet.events,
        **report,
    }
