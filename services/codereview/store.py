"""Review runs in Postgres: one per (repo, pull request, head SHA), with its plan, changed
files, one report per agent and the review posted for it. Every write is idempotent, so a
redelivered event or a restarted service cannot duplicate anything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from services.codereview.changes import ChangedFile
from services.codereview.plan import ReviewPlan
from services.common.events import AgentReport, CodeReviewRequested, Finding, FindingSeverity, ReviewAgent, ReviewRunEvent

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]


@dataclass(frozen=True)
class RunKey:
    """Which run: a pull request at one head SHA."""

    repo: str
    number: int
    head_sha: str

    @classmethod
    def of(cls, event: ReviewRunEvent | CodeReviewRequested) -> RunKey:
        """The run an event is about."""
        return cls(event.repo, event.number, event.head_sha)

    @property
    def lock_id(self) -> str:
        """Text for a Postgres advisory lock on this run."""
        return f"review:{self.repo}#{self.number}@{self.head_sha}"


@dataclass(frozen=True)
class Run:
    """A run's stored state."""

    key: RunKey
    plan: ReviewPlan
    agents: list[ReviewAgent]
    status: str
    requested_at: datetime
    deadline_at: datetime
    review_id: int | None


_WHERE = "repo = $1 AND number = $2 AND head_sha = $3"


def _args(key: RunKey) -> tuple[str, int, str]:
    return (key.repo, key.number, key.head_sha)


async def create_run(
    pool: asyncpg.Pool,
    key: RunKey,
    *,
    base_sha: str,
    title: str,
    author: str,
    plan: ReviewPlan,
    files: list[ChangedFile],
    deadline_at: datetime,
) -> bool:
    """Store a new run with its files (status `ready` at once when skipped); False if it exists."""
    status = "ready" if plan.skipped else "collecting"
    async with pool.acquire() as conn, conn.transaction():
        created = await conn.fetchval(
            "INSERT INTO review_runs (repo, number, head_sha, base_sha, title, author, plan, agents, status, deadline_at, "
            "ready_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, CASE WHEN $9 = 'ready' THEN now() END) "
            "ON CONFLICT DO NOTHING RETURNING true",
            *_args(key), base_sha, title, author, plan.model_dump_json(), list(plan.agents), status, deadline_at,
        )  # fmt: skip
        if created:
            await conn.executemany(
                "INSERT INTO review_files (repo, number, head_sha, path, status, patch, content) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [(*_args(key), f.path, f.status, f.patch, f.text) for f in files],
            )
    return bool(created)


def _run(row: asyncpg.Record) -> Run:
    return Run(
        RunKey(row["repo"], row["number"], row["head_sha"]),
        ReviewPlan.model_validate_json(row["plan"]),
        list(row["agents"]),
        row["status"],
        row["requested_at"],
        row["deadline_at"],
        row["review_id"],
    )


async def get_run(conn: Conn, key: RunKey, for_update: bool = False) -> Run | None:
    """A run, or None."""
    row = await conn.fetchrow(f"SELECT * FROM review_runs WHERE {_WHERE}" + (" FOR UPDATE" if for_update else ""), *_args(key))
    return _run(row) if row else None


async def load_files(pool: asyncpg.Pool, key: RunKey) -> list[ChangedFile]:
    """A run's changed files, as the agents see them."""
    rows = await pool.fetch(f"SELECT path, status, patch, content FROM review_files WHERE {_WHERE} ORDER BY path", *_args(key))
    return [ChangedFile.of(r["path"], r["status"], r["patch"], r["content"]) for r in rows]


async def save_report(pool: asyncpg.Pool, report: AgentReport) -> list[ReviewAgent] | None:
    """Record an agent's report (a redelivered one changes nothing). Returns the agents that
    have reported when the run still collects, else None."""
    key = RunKey.of(report)
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(f"SELECT status FROM review_runs WHERE {_WHERE} FOR UPDATE", *_args(key))
        if status is None:
            return None
        await conn.execute(
            "INSERT INTO review_reports (repo, number, head_sha, agent, findings, seconds, tokens_used, error) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) ON CONFLICT DO NOTHING",
            *_args(key), report.agent, json.dumps([f.model_dump() for f in report.findings]),
            report.seconds, report.tokens_used, report.error,
        )  # fmt: skip
        if status != "collecting":
            return None
        return list(await conn.fetchval(f"SELECT array_agg(agent) FROM review_reports WHERE {_WHERE}", *_args(key)))


async def mark_ready(pool: asyncpg.Pool, key: RunKey) -> bool:
    """collecting -> ready; True for the one caller that made the change."""
    return bool(
        await pool.fetchval(
            f"UPDATE review_runs SET status = 'ready', ready_at = now() WHERE {_WHERE} AND status = 'collecting' RETURNING true",
            *_args(key),
        )
    )


async def due_runs(pool: asyncpg.Pool, stale_after_s: float, max_announcements: int = 3) -> list[tuple[RunKey, str]]:
    """Runs to announce as ready: collecting past their deadline (now marked ready), and ready
    ones not posted for `stale_after_s` (their announcement may be lost), re-announced at most
    `max_announcements` times: after that the publisher's dead letter waits for a replay."""
    rows = await pool.fetch(
        "WITH due AS (SELECT repo, number, head_sha, status FROM review_runs WHERE "
        "(status = 'collecting' AND deadline_at < now()) OR "
        "(status = 'ready' AND ready_at < now() - make_interval(secs => $1) AND announcements < $2) FOR UPDATE SKIP LOCKED) "
        "UPDATE review_runs r SET status = 'ready', ready_at = now(), "
        "announcements = r.announcements + (due.status = 'ready')::int FROM due "
        "WHERE r.repo = due.repo AND r.number = due.number AND r.head_sha = due.head_sha "
        "RETURNING r.repo, r.number, r.head_sha, due.status AS old_status",
        stale_after_s,
        max_announcements,
    )
    return [(RunKey(r["repo"], r["number"], r["head_sha"]), "deadline" if r["old_status"] == "collecting" else "stale")
            for r in rows]  # fmt: skip


@dataclass(frozen=True)
class StoredReport:
    """One agent's stored report."""

    findings: list[Finding]
    seconds: float
    tokens_used: int
    error: str | None


def _report(row: asyncpg.Record) -> StoredReport:
    findings = [Finding.model_validate(f) for f in json.loads(row["findings"])]
    return StoredReport(findings, row["seconds"], row["tokens_used"], row["error"])


async def load_reports(conn: Conn, key: RunKey) -> dict[ReviewAgent, StoredReport]:
    """Each reporting agent's report."""
    rows = await conn.fetch(f"SELECT * FROM review_reports WHERE {_WHERE}", *_args(key))
    return {r["agent"]: _report(r) for r in rows}


async def reports_of(conn: Conn, keys: list[RunKey]) -> dict[RunKey, dict[ReviewAgent, StoredReport]]:
    """Each run's reports, by agent, in one query."""
    rows = await conn.fetch(
        "SELECT r.* FROM review_reports r JOIN unnest($1::text[], $2::int[], $3::text[]) AS k(repo, number, head_sha) "
        "USING (repo, number, head_sha)",
        [k.repo for k in keys],
        [k.number for k in keys],
        [k.head_sha for k in keys],
    )
    found: dict[RunKey, dict[ReviewAgent, StoredReport]] = {key: {} for key in keys}
    for row in rows:
        found[RunKey(row["repo"], row["number"], row["head_sha"])][row["agent"]] = _report(row)
    return found


async def recent_runs(conn: Conn, limit: int) -> list[asyncpg.Record]:
    """The latest runs, newest first (whole rows but the plan)."""
    return list(
        await conn.fetch(
            "SELECT repo, number, head_sha, title, author, agents, status, requested_at, ready_at, posted_at, review_id, "
            "review_event FROM review_runs ORDER BY requested_at DESC LIMIT $1",
            limit,
        )
    )


async def record_posted(
    conn: Conn,
    key: RunKey,
    review_id: int,
    review_event: str,
    findings: list[tuple[str, int, str, FindingSeverity, list[ReviewAgent]]],
) -> None:
    """The run's review is on GitHub; keep its findings (path, line, rule, severity, agents) for feedback."""
    await conn.execute(
        f"UPDATE review_runs SET status = 'posted', posted_at = now(), review_id = $4, review_event = $5 WHERE {_WHERE}",
        *_args(key), review_id, review_event,
    )  # fmt: skip
    await conn.executemany(
        "INSERT INTO review_findings (repo, number, head_sha, path, line, rule, severity, agents) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        [(*_args(key), *f) for f in findings],
    )


async def open_findings(pool: asyncpg.Pool, repo: str, number: int, before_sha: str) -> list[asyncpg.Record]:
    """Posted findings of the PR's earlier heads, not yet addressed."""
    return await pool.fetch(
        "SELECT head_sha, path, line, rule FROM review_findings "
        "WHERE repo = $1 AND number = $2 AND head_sha <> $3 AND addressed_sha IS NULL",
        repo, number, before_sha,
    )  # fmt: skip


async def mark_addressed(
    pool: asyncpg.Pool, repo: str, number: int, addressed: list[tuple[str, str, int, str]], by_sha: str
) -> None:
    """Count these (head_sha, path, line, rule) findings as addressed by the push `by_sha`."""
    await pool.executemany(
        "UPDATE review_findings SET addressed_sha = $7, addressed_at = now() "
        "WHERE repo = $1 AND number = $2 AND head_sha = $3 AND path = $4 AND line = $5 AND rule = $6 AND addressed_sha IS NULL",
        [(repo, number, *a, by_sha) for a in addressed],
    )


async def rule_stats(conn: Conn) -> list[dict[str, Any]]:
    """Per rule: findings posted, addressed by a later push, and the acceptance rate."""
    rows = await conn.fetch(
        "SELECT rule, count(*) AS posted, count(addressed_sha) AS addressed FROM review_findings "
        "GROUP BY rule ORDER BY count(*) DESC, rule"
    )
    return [
        {"rule": r["rule"], "posted": r["posted"], "addressed": r["addressed"],
         "acceptance_rate": round(r["addressed"] / r["posted"], 3) if r["posted"] else 0.0}
        for r in rows
    ]  # fmt: skip
