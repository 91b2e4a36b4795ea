"""Running one drill against the running stack and writing its journal.

Order: steady state before; the load starts and the steady state is checked every interval
while the faults strike, each when its trigger holds, recording what was in flight; the load
drains (its recovery measured from the last fault's end); steady state after; invariants.
Rollbacks always run, also when the drill fails or is interrupted.

Verdicts: `skipped` (this machine cannot strike a fault, e.g. no iptables: said, never
passed), `aborted` (the runner could not do what the file asks, or broke), `failed` (steady state not
met before, or an invariant broken, or the load did not drain within the recovery budget),
`deviated` (the steady state did not come back), `inconclusive` (a fault struck nothing in
flight, or its condition never held), `passed`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from forgeline.api import gateway_client
from forgeline.demos.narrate import Say
from forgeline.drills.auditor import Audit, check, unfinished
from forgeline.drills.chart import timeline_png
from forgeline.drills.faults import NotStruckError, Striker, can_partition
from forgeline.drills.probes import ProbeResult, Reader, in_flight
from forgeline.drills.report import html, junit, markdown
from forgeline.drills.schema import Drill, Fault, LagProbe, Probe
from forgeline.load.requests import INTAKE, cart_catalogue
from forgeline.load.run import SENT, LoadPlan, pull_request_secrets, run_locust
from forgeline.stack import Stack
from forgeline.tools.seed import seed_shop
from services.gateway.tenants import create_tenant

CREDITS = 1_000_000  # the drill's own tenant never runs out: credits are audited, not rationed
SHOP_USERS = 200  # more shoppers than a drill sends carts, so the frequency cap seldom applies


@dataclass
class Journal:
    """What happened, in the shape of a Chaos Toolkit journal plus Forgeline's audit."""

    drill: Drill
    status: str = "running"
    reason: str = ""
    start: float = field(default_factory=time.time)
    steady_states: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"before": [], "during": [], "after": []})
    run: list[dict[str, Any]] = field(default_factory=list)
    rollbacks: list[dict[str, str]] = field(default_factory=list)
    invariants: list[dict[str, Any]] = field(default_factory=list)
    recovery_s: float | None = None
    load: dict[str, Any] = field(default_factory=dict)
    # For the chart: every request (pipeline, sent at s, status, latency ms), intake lag readings
    # (at s, pipeline, lag) and the fault windows (start s, end s, fault name).
    timeline: dict[str, list[Any]] = field(default_factory=lambda: {"requests": [], "lag": [], "faults": []})

    def as_json(self) -> dict[str, Any]:
        end = time.time()
        return {
            "drill": self.drill.name,
            "proves": self.drill.proves,
            "status": self.status,
            "deviated": self.status == "deviated",
            "reason": self.reason,
            "start": self.start,
            "end": end,
            "duration": round(end - self.start, 1),
            "steady_states": self.steady_states,
            "run": self.run,
            "rollbacks": self.rollbacks,
            "invariants": self.invariants,
            "recovery_s": self.recovery_s,
            "load": self.load,
            "timeline": self.timeline,
        }


def _all_ok(results: list[ProbeResult]) -> bool:
    return all(r.ok for r in results)


async def run_drill(stack: Stack, drill: Drill, say: Say, live: Path | None = None) -> dict[str, Any]:
    """Run `drill` on the running `stack`; return its journal. With `live`, the journal so far
    is kept at that path, rewritten every second (what the console shows); the final one is
    `write_report`'s, once the reports beside it are written."""
    journal = Journal(drill)
    keeping = asyncio.create_task(_keep_live(journal, live)) if live is not None else None
    try:
        return await _run(stack, drill, say, journal)
    finally:
        if keeping is not None:
            keeping.cancel()


LIVE_EVERY_S = 1.0


def write_journal(path: Path, journal: dict[str, Any]) -> None:
    """Replace the journal at `path` whole (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(journal, indent=2, default=str) + "\n")
    partial.replace(path)


async def _keep_live(journal: Journal, path: Path) -> None:
    while True:
        write_journal(path, journal.as_json())
        await asyncio.sleep(LIVE_EVERY_S)


async def _run(stack: Stack, drill: Drill, say: Say, journal: Journal) -> dict[str, Any]:
    cannot = cannot_strike_here(drill)
    if cannot:
        journal.status, journal.reason = "skipped", cannot
        say(f"{drill.name}: {journal.status} ({journal.reason})")
        return journal.as_json()
    settings = stack.client_settings()
    state = stack.load_state()
    gateway = state["components"]["gateway"]["endpoint"]
    db = await asyncpg.create_pool(settings.endpoints.database_url, min_size=1, max_size=4)
    try:
        tenant, key = await create_tenant(db, f"drill-{drill.name}-{int(time.time())}", CREDITS)
        async with gateway_client(gateway, key) as api, httpx.AsyncClient(timeout=30.0) as http:
            reader = Reader(stack, settings, api, http, db, str(tenant.id))
            striker = Striker(stack, reader, str(tenant.id), uuid.uuid4().hex[:12])
            try:
                await _execute(drill, journal, reader, striker, Caller(gateway, key, str(tenant.id)), say)
            finally:
                journal.rollbacks = await asyncio.shield(striker.roll_back())
                await reader.close()
    except (asyncio.CancelledError, KeyboardInterrupt):
        journal.status, journal.reason = "aborted", "interrupted"
        raise
    except Exception as error:  # the runner's own failure is an aborted drill with its cause, never a pass
        journal.status, journal.reason = "aborted", f"{type(error).__name__}: {error}"
    finally:
        await db.close()
        say(f"{drill.name}: {journal.status}" + (f" ({journal.reason})" if journal.reason else ""))
    return journal.as_json()


def cannot_strike_here(drill: Drill) -> str:
    """Why this machine cannot strike one of the drill's faults ('' when it can)."""
    if any(f.partition for f in drill.method):
        return can_partition() or ""
    return ""


def write_report(report: Path, journal: dict[str, Any]) -> Path:
    """`junit.xml`, `report.md`, `timeline.png`, `report.html` and, last (so a reader that sees
    the verdict finds the reports), `journal.json` in the `report` folder."""
    report.mkdir(parents=True, exist_ok=True)
    (report / "junit.xml").write_text(junit(journal))
    (report / "report.md").write_text(markdown(journal) + ("\n![timeline](timeline.png)\n" if journal.get("timeline") else ""))
    chart = timeline_png(journal, report / "timeline.png") if journal.get("timeline") else None
    (report / "report.html").write_text(html(journal, chart))
    write_journal(report / "journal.json", journal)
    return report


@dataclass(frozen=True)
class Caller:
    """The drill's own tenant, as the load reaches the gateway."""

    gateway: str
    key: str
    tenant_id: str


async def _execute(drill: Drill, journal: Journal, reader: Reader, striker: Striker, caller: Caller, say: Say) -> None:
    tenant_id = caller.tenant_id
    probes = drill.steady_state.probes
    before = [await reader.probe(p) for p in probes]
    journal.steady_states["before"] = [r.as_json() for r in before]
    if not _all_ok(before):
        journal.status, journal.reason = "failed", "the steady state did not hold before the method"
        return
    credits_before = int(await reader.db.fetchval("SELECT credits FROM tenants WHERE id = $1", uuid.UUID(tenant_id)))
    started = time.monotonic()
    workload = drill.workload
    say(f"{drill.name}: Locust for {workload.duration_s:g}s on {', '.join(workload.pipelines)}")
    shop = None
    if "carts" in workload.pipelines:  # carts name a shop's users and SKUs: the drill's tenant gets one
        async with reader.db.acquire() as conn:
            shop = cart_catalogue(await seed_shop(conn, uuid.UUID(tenant_id), workload.seed, users=SHOP_USERS))
    rates = {name: load.rate_per_s for name, load in workload.pipelines.items()}
    stack = reader.stack
    plan = LoadPlan(rates, workload.duration_s, workload.seed, shop, striker.run_id, stack.components["github"].endpoint)
    secrets = pull_request_secrets(stack.webhook_secret(), stack.endpoints_env()["GITHUB_TOKEN"])
    workdir = stack.home / "drills" / drill.name
    load = asyncio.create_task(run_locust(caller.gateway, caller.key, plan, started, workdir, secrets))
    watch = asyncio.create_task(_watch(reader, drill, journal, started))
    windows: list[tuple[float, float]] = []
    struck_nothing = False
    try:
        for fault in drill.method:
            entry = await _strike(fault, reader, striker, tenant_id, started, say, workdir / SENT, list(workload.pipelines))
            journal.run.append(entry)
            if entry["outcome"] != "struck":
                journal.status, journal.reason = "inconclusive", f"{fault.name}: {entry['outcome']}"
                return
            windows.append((entry["at_s"], entry["ended_s"]))
            struck_nothing = struck_nothing or (fault.disrupts and not entry["in_flight"])
        record = await load
    finally:
        watch.cancel()
        if not load.done():
            load.cancel()
    audit = Audit(
        tenant_id, credits_before, record, windows, drill.error_budget, striker.poisoned, striker.cancelled, striker.replayed
    )
    last_end = max(end for _, end in windows)
    while await unfinished(reader, audit) and time.monotonic() - started - last_end < drill.recovery_budget_s:
        await asyncio.sleep(1.0)
    journal.recovery_s = round(time.monotonic() - started - last_end, 1)
    drained = not await unfinished(reader, audit)
    after = [await reader.probe(p) for p in probes]
    journal.steady_states["after"] = [r.as_json() for r in after]
    verdicts = [await check(name, reader, audit) for name in drill.invariants]
    journal.invariants = [v.as_json() for v in verdicts]
    journal.timeline["requests"] = [[s.pipeline, round(s.at_s, 3), s.status, round(s.latency_ms, 1)] for s in record.sent]
    journal.timeline["faults"] = [[start, end, e["fault"]] for (start, end), e in zip(windows, journal.run, strict=True)]
    journal.load = {
        "sent": len(record.sent),
        "accepted": {name: len(record.accepted(name)) for name in drill.workload.pipelines},
        "server_errors": len(record.server_errors()),
        "retried": sum(1 for s in record.sent if s.attempts > 1),
        "locust": record.stats,
    }
    if not drained:
        journal.status, journal.reason = "failed", f"the load did not drain within {drill.recovery_budget_s:g}s"
    elif not all(v.ok for v in verdicts):
        journal.status, journal.reason = "failed", "; ".join(f"{v.name}: {v.detail}" for v in verdicts if not v.ok)
    elif not _all_ok(after):
        journal.status, journal.reason = "deviated", "the steady state did not come back"
    elif struck_nothing:
        journal.status, journal.reason = "inconclusive", "a fault struck nothing in flight"
    else:
        journal.status = "passed"


async def _strike(
    fault: Fault, reader: Reader, striker: Striker, tenant_id: str, started: float, say: Say, sent: Path, pipelines: list[str]
) -> dict[str, Any]:
    """Wait for the fault's trigger, record what is in flight, strike."""

    def reading() -> Awaitable[dict[str, int]]:
        return in_flight(reader, tenant_id, sent, pipelines)

    trigger = fault.trigger
    if trigger.at_s is not None:
        await asyncio.sleep(max(0.0, started + trigger.at_s - time.monotonic()))
        flight = await reading()
    else:
        assert trigger.when is not None
        deadline = time.monotonic() + trigger.within_s
        # A disrupting fault waits for its condition with the drill's work in flight: a short
        # job can finish between the condition's reading and the in-flight one.
        while True:
            last = await reader.probe(trigger.when)
            flight = await reading() if last.ok else {}
            if last.ok and (flight or not fault.disrupts):
                break
            if time.monotonic() > deadline:
                seen = "none of the drill's work in flight" if last.ok else last.detail or f"last reading {last.value}"
                return {
                    "fault": fault.name,
                    "kind": fault.kind,
                    "outcome": f"its condition never held in {trigger.within_s:g}s ({seen})",
                }
            await asyncio.sleep(0.5)
    at = time.monotonic() - started
    say(f"  {at:5.1f}s {fault.name} (in flight: {flight or 'nothing'})")
    try:
        ended, did, later = await striker.strike(fault, reading)
    except NotStruckError as error:
        return {"fault": fault.name, "kind": fault.kind, "outcome": str(error), "at_s": round(at, 2), "in_flight": flight}
    if later is not None:
        flight = later
        say(f"         it took effect with in flight: {flight or 'nothing'}")
    return {
        "fault": fault.name,
        "kind": fault.kind,
        "outcome": "struck",
        "at_s": round(at, 2),
        "ended_s": round(ended - started, 2),
        "in_flight": flight,
        "did": did,
    }


async def _watch(reader: Reader, drill: Drill, journal: Journal, started: float) -> None:
    """The steady state, every interval while the method runs, and each loaded pipeline's intake lag."""
    intakes = {name: INTAKE[name] for name in drill.workload.pipelines if name in INTAKE}
    while True:
        await asyncio.sleep(drill.steady_state.interval_s)
        results = [await reader.probe(p) for p in drill.steady_state.probes]
        at = round(time.monotonic() - started, 2)
        journal.steady_states["during"].append({"at_s": at, "ok": _all_ok(results), "probes": [r.as_json() for r in results]})
        for name, (group, topic) in intakes.items():
            reading = await reader.probe(Probe(name=f"{name} lag", lag=LagProbe(group=group, topic=topic, min=0)))
            if reading.value is not None:
                journal.timeline["lag"].append([at, name, int(reading.value)])
