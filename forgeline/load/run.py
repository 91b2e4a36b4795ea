"""Starting Locust on the locustfile, and reading back what it sent.

Locust runs in its own process: it patches the standard library with gevent, which the drill
runner's asyncio code must not share."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forgeline.load.requests import USER_CLASSES, users_for

# Never imported here: importing locust patches the standard library with gevent.
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
STOP_TIMEOUT_S = 35  # a user's request in flight at the end is let finish (the gateway's client timeout is 30 s)
STARTUP_SLACK_S = 10.0
SENT = "requests.jsonl"  # every request and its final answer, one JSON line each, written as they happen


@dataclass
class Sent:
    """One request of the load and the gateway's final answer."""

    pipeline: str
    at_s: float  # since the drill's load started
    status: int  # 0: no answer (transport error)
    resource_id: str | None  # job_id / content_id / echo_id when accepted
    latency_ms: float = 0.0
    attempts: int = 1


@dataclass
class LoadRecord:
    sent: list[Sent] = field(default_factory=list)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)  # Locust's, per pipeline

    def accepted(self, pipeline: str) -> list[str]:
        return [s.resource_id for s in self.sent if s.pipeline == pipeline and s.status == 202 and s.resource_id]

    def server_errors(self) -> list[Sent]:
        return [s for s in self.sent if s.status >= 500 or s.status == 0]


@dataclass(frozen=True)
class LoadPlan:
    """What to send: each pipeline's rate for `duration_s`, from a seed."""

    rates: dict[str, float]
    duration_s: float
    seed: int = 0
    shop: dict[str, Any] | None = None  # carts: the tenant's users and SKUs
    run: str = ""  # names this run's pull-request repository
    github_url: str = ""  # pull requests: the GitHub stand-in

    def env(self, key: str, record: Path | None, started: float, secrets: dict[str, str] | None = None) -> dict[str, str]:
        """The environment the locustfile reads its plan, key and `secrets` from (never argv)."""
        plan = {"seed": self.seed, "duration_s": self.duration_s, "rates": self.rates, "started": started, "shop": self.shop}
        plan |= {"record": str(record) if record else None, "run": self.run, "github_url": self.github_url}
        return {**os.environ, **(secrets or {}), "FORGELINE_LOAD_PLAN": json.dumps(plan), "FORGELINE_LOAD_KEY": key}

    def argv(self, host: str, out: Path, web_port: int | None = None) -> list[str]:
        """The Locust command line: headless for `duration_s` (stats to `out`), or its web UI."""
        users = sum(users_for(rate) for rate in self.rates.values())
        argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host, *(USER_CLASSES[p] for p in self.rates)]
        argv += ["-u", str(users), "-r", str(users)]
        if web_port is not None:
            return [*argv, "--web-host", "127.0.0.1", "--web-port", str(web_port)]
        # Users stop once their requests are sent; the slack covers Locust starting up.
        run_time = f"{self.duration_s + STARTUP_SLACK_S:g}s"
        headless = ["--headless", "--only-summary", "-t", run_time, "--stop-timeout", str(STOP_TIMEOUT_S)]
        return [*argv, *headless, "--json-file", str(out / "locust"), "--csv", str(out / "locust")]


def _fresh(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    record = out / SENT
    record.unlink(missing_ok=True)
    return record


def pull_request_secrets(webhook_secret: str, github_token: str) -> dict[str, str]:
    """What the pull-request user needs: the webhook secret to sign with, the stand-in's token."""
    return {"FORGELINE_LOAD_WEBHOOK_SECRET": webhook_secret, "FORGELINE_LOAD_GITHUB_TOKEN": github_token}


async def run_locust(
    host: str, key: str, plan: LoadPlan, started: float, out: Path, secrets: dict[str, str] | None = None
) -> LoadRecord:
    """Run Locust headless until its requests are sent and answered; what it sent, with its stats.
    `started` (time.monotonic, the same clock in every process) is time zero of the record."""
    record = await asyncio.to_thread(_fresh, out)
    with (out / "locust.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *plan.argv(host, out), env=plan.env(key, record, started, secrets), stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            await process.wait()
        finally:
            if process.returncode is None:  # cancelled (Ctrl-C): stop Locust too
                process.terminate()
                await process.wait()
    if process.returncode not in (0, 1):  # 1: some requests failed, which drills expect
        raise RuntimeError(f"Locust exited {process.returncode}; see {out / 'locust.log'}")
    return await asyncio.to_thread(read_record, record, out / "locust.json")


def read_record(record: Path, stats: Path) -> LoadRecord:
    """The requests the locustfile recorded, and Locust's own stats per pipeline."""
    sent = []
    if record.exists():
        for line in record.read_text().splitlines():
            row = json.loads(line)
            sent.append(Sent(row["pipeline"], row["at_s"], row["status"], row["id"], row["latency_ms"], row["attempts"]))
    sent.sort(key=lambda s: s.at_s)
    return LoadRecord(sent, summarize(json.loads(stats.read_text())) if stats.exists() else {})


def summarize(entries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Locust's JSON stats as requests, failures, rate and latency percentiles per pipeline."""
    out = {}
    for entry in entries:
        histogram = sorted((float(ms), int(n)) for ms, n in entry["response_times"].items())
        total = sum(n for _, n in histogram)
        seconds = max(1e-9, entry["last_request_timestamp"] - entry["start_time"])
        out[entry["name"]] = {
            "requests": entry["num_requests"],
            "failures": entry["num_failures"],
            "rate_per_s": round(entry["num_requests"] / seconds, 2),
            **{f"p{q}_ms": _percentile(histogram, total, q / 100) for q in (50, 95, 99)},
        }
    return out


def _percentile(histogram: list[tuple[float, int]], total: int, q: float) -> float:
    seen = 0
    for ms, n in histogram:
        seen += n
        if seen >= q * total:
            return ms
    return histogram[-1][0] if histogram else 0.0
