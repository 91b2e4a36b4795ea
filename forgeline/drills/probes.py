"""Reading the running platform for a drill: probes (steady state, triggers) and what was in
flight when a fault struck. Every read goes through the platform's own endpoints."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from forgeline_api_client import AuthenticatedClient
from prometheus_client.parser import text_string_to_metric_families

from forgeline.drills.schema import SAGA, Bounds, HttpProbe, LagProbe, MetricProbe, Probe, TemporalProbe
from forgeline.load.requests import INTAKE
from forgeline.stack import Stack
from forgeline.standins.github import StandInClient
from services.common.clients import create_temporal_client
from services.common.lag import LagReader
from services.common.settings import Settings
from workflows.imagegen.contracts import workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client as TemporalClient

TEMPORAL_STATUS = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Canceled",
    "terminated": "Terminated",
    "timed_out": "TimedOut",
}


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    value: Any
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "value": self.value, "detail": self.detail}


def within(bounds: Bounds, value: float) -> bool:
    """Whether a number meets `equals`/`min`/`max`."""
    if bounds.equals is not None and value != bounds.equals:
        return False
    if bounds.min is not None and value < bounds.min:
        return False
    return not (bounds.max is not None and value > bounds.max)


def json_at(document: Any, path: str) -> Any:
    """The value at a dotted path (`parts.0.healthy`) of a JSON document."""
    for step in path.split("."):
        document = document[int(step)] if isinstance(document, list) else document[step]
    return document


class Reader:
    """The clients a drill reads the platform through (the stack's own endpoints): the gateway's
    generated client with the drill tenant's key (`api`), and plain HTTP for the other parts'
    /metrics and the GitHub stand-in, which must not see that key."""

    def __init__(
        self,
        stack: Stack,
        settings: Settings,
        api: AuthenticatedClient,
        http: httpx.AsyncClient,
        db: asyncpg.Pool,
        tenant_id: str,
    ) -> None:
        self.stack, self.settings, self.api, self.http, self.db, self.tenant_id = stack, settings, api, http, db, tenant_id
        self._temporal: TemporalClient | None = None
        self._lag: LagReader | None = None
        env = stack.endpoints_env()
        self.github = StandInClient(http, env["GITHUB_API_URL"], env["GITHUB_TOKEN"])  # the stand-in, as the services reach it

    async def probe(self, probe: Probe) -> ProbeResult:
        """One probe's reading; an error reading it is a failed probe that says why."""
        try:
            if probe.http:
                return await self._http(probe.name, probe.http)
            if probe.sql:
                return self._number(probe.name, probe.sql, float(await self.sql(probe.sql.query) or 0))
            if probe.metric:
                return self._number(probe.name, probe.metric, await self.metric(probe.metric))
            if probe.lag:
                return self._number(probe.name, probe.lag, float(await self.lag(probe.lag)))
            assert probe.temporal is not None
            return self._number(probe.name, probe.temporal, float(await self.workflows(probe.temporal)))
        except Exception as error:  # a probe that cannot read is a failed probe, never a crash
            return ProbeResult(probe.name, False, None, f"{type(error).__name__}: {error}")

    @staticmethod
    def _number(name: str, bounds: Bounds, value: float) -> ProbeResult:
        return ProbeResult(name, within(bounds, value), value)

    async def _http(self, name: str, probe: HttpProbe) -> ProbeResult:
        # Any path a drill file names, so the generated client's connection rather than one of its functions.
        response = await self.api.get_async_httpx_client().get(probe.path)
        if response.status_code != probe.status:
            return ProbeResult(name, False, response.status_code, f"expected status {probe.status}")
        if probe.json_path is None:
            return ProbeResult(name, True, response.status_code)
        value = json_at(response.json(), probe.json_path)
        return ProbeResult(name, probe.equals is None or value == probe.equals, value)

    async def metric(self, probe: MetricProbe) -> float:
        """A sample from one part's /metrics, summed over the labels the probe does not name."""
        endpoint = self.stack.components[probe.part].endpoint
        text = (await self.http.get(f"{endpoint}/metrics")).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == probe.name and all(sample.labels.get(k) == v for k, v in probe.labels.items()):
                    total += sample.value
        return total

    async def lag(self, probe: LagProbe) -> int:
        """Records of a topic a consumer group has not committed yet (one reader kept for the run)."""
        if self._lag is None:
            self._lag = await LagReader(self.settings).start()
        [backlog] = await self._lag.backlog(probe.group, [probe.topic])
        return backlog.lag

    async def close(self) -> None:
        """Stop the lag reader, if a probe opened one."""
        if self._lag is not None:
            lag, self._lag = self._lag, None
            await lag.close()

    async def sql(self, query: str) -> Any:
        """The first value of a query; `$1`, where the query names it, is the drill's tenant id."""
        if "$1" in query:
            return await self.db.fetchval(query, uuid.UUID(self.tenant_id))
        return await self.db.fetchval(query)

    async def workflows(self, probe: TemporalProbe) -> int:
        """How many of the drill's own sagas (the workflows of its tenant's image jobs) are in a
        status: another tenant's saga left running must not fire a drill's trigger."""
        return len(await self._our_sagas(probe.workflow_type, probe.status))

    async def sagas_by_step(self) -> dict[str, int]:
        """The drill's running sagas by the activity they wait on (`generate`, `store`, ...)."""
        client = await self._temporal_client()
        steps: dict[str, int] = {}
        for saga in await self._our_sagas(SAGA, "running"):
            description = await client.get_workflow_handle(saga).describe()
            for activity in description.raw_description.pending_activities:
                steps[activity.activity_type.name] = steps.get(activity.activity_type.name, 0) + 1
        return steps

    async def _our_sagas(self, workflow_type: str, status: str) -> list[str]:
        client = await self._temporal_client()
        jobs = await self.db.fetch("SELECT job_id FROM image_jobs WHERE tenant_id = $1", uuid.UUID(self.tenant_id))
        ours = {workflow_id(row["job_id"]) for row in jobs}
        query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = '{TEMPORAL_STATUS[status]}'"
        return [execution.id async for execution in client.list_workflows(query) if execution.id in ours]

    async def _temporal_client(self) -> TemporalClient:
        if self._temporal is None:  # one client for the run: triggers poll every half second
            endpoint = self.stack.components["temporal"].endpoint
            self._temporal = await create_temporal_client(self.settings.replace(endpoints={"temporal_address": endpoint}))
        return self._temporal


async def in_flight(reader: Reader, tenant_id: str, sent: Path | None = None, pipelines: Iterable[str] = ()) -> dict[str, int]:
    """What the drill's own load had in flight at this moment, per pipeline: image jobs queued or
    running, content items not decided yet, carts accepted (Locust's record `sent`, so far)
    without an outcome, echoes not logged yet, pull requests without a posted review, running
    sagas by the step they wait in; and the records the `pipelines`' intake groups have not
    acknowledged. A fault that finds all zero struck nothing."""
    rows = await reader.db.fetch(
        """
        SELECT 'images_' || status AS what, count(*) AS n FROM image_jobs
        WHERE tenant_id = $1 AND status IN ('queued', 'running') GROUP BY status
        UNION ALL
        SELECT 'content_pending', count(*) FROM moderation_content WHERE tenant_id = $1 AND status = 'pending'
        """,
        uuid.UUID(tenant_id),
    )
    flight = {row["what"]: int(row["n"]) for row in rows if row["n"]}
    if flight.get("images_running") or flight.get("images_queued"):  # a job row is marked running after its saga starts
        flight |= {f"sagas_in_{step}": n for step, n in (await reader.sagas_by_step()).items()}
    accepted: dict[str, list[str]] = {}
    for record in _sent_so_far(sent):
        if record["status"] == 202 and record["id"]:
            accepted.setdefault(record["pipeline"], []).append(record["id"])
    if carts := accepted.get("carts"):
        settled = await reader.db.fetchval(
            "SELECT count(*) FROM email_sends WHERE tenant_id = $1 AND cart_id = ANY($2) AND status <> 'sending'",
            uuid.UUID(tenant_id),
            carts,
        )
        flight["carts_unsettled"] = len(carts) - int(settled)
    if echoes := accepted.get("echo"):
        logged = await reader.db.fetchval(
            "SELECT count(DISTINCT echo_id) FROM echo_log WHERE echo_id = ANY($1)", [uuid.UUID(e) for e in echoes]
        )
        flight["echo_pending"] = len(echoes) - int(logged)
    if pulls := accepted.get("pull_requests"):
        posted = await reader.db.fetchval(
            "SELECT count(*) FROM review_runs WHERE status = 'posted' AND repo || '#' || number || '@' || head_sha = ANY($1)",
            pulls,
        )
        flight["reviews_unposted"] = len(pulls) - int(posted)
    for name in pipelines:
        group, topic = INTAKE[name]
        flight[f"unacked_{group}"] = await reader.lag(LagProbe(group=group, topic=topic, min=0))
    return {what: n for what, n in flight.items() if n}


def _sent_so_far(sent: Path | None) -> list[dict[str, Any]]:
    if sent is None or not sent.exists():
        return []
    lines = sent.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]  # the last line may be half written
