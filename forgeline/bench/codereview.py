"""`forgeline bench codereview`: the review pipeline on a throw-away stack.

* webhook -> review latency (p50/p95) for a 5-file, ~200-changed-line PR, one PR at a time;
* the five agents on that PR side by side vs one after another, in this process (the ratio
  is what running agents as parallel services buys);
* reviews per minute under a burst of PRs opened at once;
* the estimated cost per PR of an LLM pass over the changed hunks, at two reference prices.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx

from forgeline.bench.harness import bench_stack, latency_ms
from forgeline.demos.narrate import Say
from forgeline.stack import Stack
from forgeline.standins.github import StandInClient
from forgeline.standins.review_samples import changed_files, fake_sha, pull_request_payload, send_webhook, sized_pull
from forgeline.tools.tail import tail_consumer
from services.codereview.agents import AGENTS, run_agent
from services.codereview.github import PullFile
from services.codereview.llm_pass import review_request
from services.codereview.plan import plan_review
from services.common.events import ReviewPosted
from services.common.llm_local import Chat, chat_tokens
from services.common.settings import Settings
from services.common.topics import REVIEW_POSTED

REPO = "bench/shop"
# USD per million tokens (input, output): reference prices for the estimate, not a quote.
PRICES = {"small model (gpt-4o-mini class)": (0.15, 0.60), "large model (gpt-4o class)": (2.50, 10.00)}
COMPONENTS = ("s3", "kafka", "postgres", "redis", "github", "gateway", "codereview-orchestrator", "codereview-aggregator",
              "codereview-publisher", *(f"codereview-{a}" for a in AGENTS))  # fmt: skip


def codereview(settings: Settings, *, prs: int, burst: int, files: int, lines: int, progress: Say) -> dict[str, Any]:
    """Run every measurement; the JSON-ready result."""
    pull = sized_pull(files, lines)
    changed = changed_files(pull)
    result: dict[str, Any] = {
        "pr": {"files": len(changed), "changed_lines": sum(len(f.added) for f in changed)},
    }
    progress("1/4 agents in process: all five side by side vs one after another ...")
    result["agents_in_process"] = asyncio.run(parallel_vs_sequential(pull))
    with bench_stack({}, progress) as stack:
        progress("2/4 forgeline up (S3, Kafka, Postgres, Redis, gateway, GitHub stand-in, review services) ...")
        stack.up(only=COMPONENTS)
        progress(f"3/4 webhook -> review latency, {prs} PRs one at a time ...")
        result["webhook_to_review"] = asyncio.run(one_at_a_time(stack, pull, prs))
        progress(f"4/4 burst: {burst} PRs opened at once ...")
        result["burst"] = asyncio.run(at_once(stack, pull, burst))
    result["llm_cost_estimate"] = cost_estimate(pull, settings)
    result["goal"] = {"webhook_to_review_p95_s": 10.0}
    return result


async def parallel_vs_sequential(pull: dict[str, tuple[str | None, str | None]], repeats: int = 5) -> dict[str, Any]:
    """Median seconds for the five agents sequentially and concurrently; their ratio."""
    files = changed_files(pull)
    sequential, parallel = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        for agent in AGENTS:
            await run_agent(agent, files)
        sequential.append(time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(run_agent(agent, files) for agent in AGENTS))
        parallel.append(time.perf_counter() - started)
    seq, par = statistics.median(sequential), statistics.median(parallel)
    return {"sequential_s": round(seq, 3), "parallel_s": round(par, 3), "speedup": round(seq / par, 2), "repeats": repeats}


async def _open(http: httpx.AsyncClient, stack: Stack, github: StandInClient, pull: Any, number: int) -> str:
    head = fake_sha(f"bench-{number}-{time.time()}")
    await github.add_pull(REPO, number, head, pull)
    gateway = stack.load_state()["components"]["gateway"]["endpoint"]
    payload = pull_request_payload(REPO, number, head, fake_sha("base"))
    response = await send_webhook(http, gateway, stack.webhook_secret(), payload)
    response.raise_for_status()
    return head


async def _posted(watcher: Any, waiting: dict[str, float], done: dict[str, float], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while waiting.keys() - done.keys() and time.monotonic() < deadline:
        for records in (await watcher.getmany(timeout_ms=200)).values():
            for record in records:
                posted = ReviewPosted.model_validate_json(record.value or b"{}")
                if posted.head_sha in waiting and posted.head_sha not in done:
                    done[posted.head_sha] = time.monotonic()


async def one_at_a_time(stack: Stack, pull: Any, count: int) -> dict[str, Any]:
    """Open PRs one by one, each once the previous review was posted."""
    env = stack.endpoints_env()
    watcher = await tail_consumer(env["KAFKA_BOOTSTRAP_SERVERS"], (REVIEW_POSTED.name,))
    latencies = []
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            github = StandInClient(http, env["GITHUB_API_URL"], env["GITHUB_TOKEN"])
            for number in range(1, count + 2):  # the first warms every consumer up and is not counted
                started = time.monotonic()
                head = await _open(http, stack, github, pull, number)
                done: dict[str, float] = {}
                await _posted(watcher, {head: started}, done, timeout_s=120)
                if head not in done:
                    raise RuntimeError(f"no review for PR {number} within 120 s: see the codereview-* logs under {stack.home}")
                if number > 1:
                    latencies.append(done[head] - started)
    finally:
        await watcher.stop()
    return {"prs": len(latencies), **latency_ms(latencies)}


async def at_once(stack: Stack, pull: Any, count: int) -> dict[str, Any]:
    """Open `count` PRs together; reviews per minute until the last one posted."""
    env = stack.endpoints_env()
    watcher = await tail_consumer(env["KAFKA_BOOTSTRAP_SERVERS"], (REVIEW_POSTED.name,))
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            github = StandInClient(http, env["GITHUB_API_URL"], env["GITHUB_TOKEN"])
            started = time.monotonic()
            heads = await asyncio.gather(*(_open(http, stack, github, pull, 1000 + n) for n in range(count)))
            waiting = dict.fromkeys(heads, started)
            done: dict[str, float] = {}
            await _posted(watcher, waiting, done, timeout_s=600)
    finally:
        await watcher.stop()
    elapsed = max(done.values(), default=started) - started
    latencies = [t - started for t in done.values()]
    return {
        "prs": count,
        "reviewed": len(done),
        "seconds": round(elapsed, 1),
        "reviews_per_minute": round(len(done) / elapsed * 60, 1) if elapsed else None,
        "latency": latency_ms(latencies),
    }


def cost_estimate(pull: Any, settings: Settings) -> dict[str, Any]:
    """Tokens the agents' LLM pass sends for this PR (the real prompts, each agent within its
    share of the PR's budget, counted by SmolLM2's tokenizer with its chat template) beside what
    it would send unbudgeted, priced at reference rates."""
    files = changed_files(pull)
    plan = plan_review(
        [PullFile(filename=f.path, status=f.status, additions=len(f.added), patch=f.patch) for f in files],
        draft=False,
        min_changed_lines=settings.codereview.min_changed_lines,
        tokens_per_line=settings.codereview.tokens_per_line,
        max_tokens=settings.codereview.max_tokens,
        deadline_s=settings.codereview.deadline_s,
    )

    def tokens(budget: int) -> tuple[int, int]:
        prompt = completion = 0
        for agent in plan.agents:
            request = review_request(agent, files, budget)
            if request is not None:
                prompt += chat_tokens(Chat.of(request))
                completion += request.max_tokens
        return prompt, completion

    prompt, completion = tokens(plan.budget_tokens // max(1, len(plan.agents)))
    unbudgeted = tokens(10**9)
    return {
        "tokenizer": "SmolLM2-135M-Instruct (the platform's local LLM; a hosted model's tokenizer counts differently)",
        "agents": len(plan.agents),
        "budget_tokens": plan.budget_tokens,
        "prompt_tokens": prompt,
        "completion_tokens_max": completion,
        "unbudgeted_tokens": sum(unbudgeted),
        "usd_per_pr": {name: round((prompt * p_in + completion * p_out) / 1e6, 4) for name, (p_in, p_out) in PRICES.items()},
    }
