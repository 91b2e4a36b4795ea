"""An agent's optional LLM pass: the changed hunks, numbered as in the new file, sent through
the shared LLM interface with the agent's focus, within the agent's share of the PR's token
budget. Static analysis runs first and alone is already useful; this adds what rules miss.

The answer is bound to a JSON schema (a list of findings); findings outside the changed
lines are dropped like any other agent's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import httpx
from pydantic import BaseModel, Field

from services.codereview.changes import ChangedFile
from services.codereview.diff import HUNK_HEADER
from services.common.events import Finding, FindingSeverity, ReviewAgent
from services.common.llm import LLMBackend, LLMRequest, generate_validated
from services.common.llm_local import Chat, fast_chat_tokens
from services.common.settings import get_settings

log = logging.getLogger("forgeline.codereview")

FOCUS: dict[ReviewAgent, str] = {
    "quality": "correctness bugs, error handling, unclear names, dead or duplicated code",
    "security": "injection, authentication and authorisation mistakes, secrets, unsafe deserialisation, SSRF, XSS",
    "performance": "repeated work, quadratic loops, queries in loops, blocking calls in async code, memory growth",
    "tests": "behaviour changed without a test, tests that cannot fail, missing edge cases",
    "docs": "public behaviour or interfaces changed without documentation, misleading comments",
}
COMPLETION_TOKENS = 400
SYSTEM = (
    "You are a careful code reviewer. Report only real problems on the lines marked '+', citing the "
    "new-file line number shown before each line. Answer with JSON only."
)


class LLMFinding(BaseModel):
    """One finding as the model states it."""

    path: str
    line: int = Field(ge=1)
    severity: FindingSeverity
    message: str = Field(max_length=500)
    suggestion: str | None = Field(default=None, max_length=500)


class LLMFindings(BaseModel):
    """The model's whole answer."""

    findings: list[LLMFinding] = Field(max_length=10)


def numbered_hunks(f: ChangedFile) -> str:
    """A file's patch with new-file numbers before added and context lines."""
    out, new_line = [f"### {f.path}"], 0
    for raw in (f.patch or "").splitlines():
        header = HUNK_HEADER.match(raw)
        if header:
            new_line = int(header.group(3))
            out.append(raw)
        elif raw.startswith("-"):
            out.append(f"{'':>5} {raw}")
        elif not raw.startswith("\\"):
            out.append(f"{new_line:>5} {raw[:1] or ' '}{raw[1:]}")
            new_line += 1
    return "\n".join(out)


def smollm2_prompt_tokens(request: LLMRequest) -> int:
    """The request's prompt in SmolLM2's tokens, chat template included (the platform's own
    LLM; another model's tokenizer counts a little differently)."""
    return fast_chat_tokens(get_settings().model_cache_dir)(Chat.of(request))


def review_request(
    agent: ReviewAgent,
    files: Sequence[ChangedFile],
    budget_tokens: int,
    prompt_tokens: Callable[[LLMRequest], int] = smollm2_prompt_tokens,
) -> LLMRequest | None:
    """The question for one agent, with as many whole files' hunks as fit the budget: prompt
    tokens (as `prompt_tokens` counts them) plus the answer's limit (a third of the budget at
    most); None when no file fits."""
    completion = min(COMPLETION_TOKENS, budget_tokens // 3)
    head = f"Changed lines to review for {FOCUS[agent]}.\n\n"
    tail = "\n\nList at most 10 findings; an empty list when there is nothing worth saying."

    def request(parts: list[str]) -> LLMRequest:
        prompt = head + "\n\n".join(parts) + tail
        return LLMRequest(SYSTEM, prompt, LLMFindings.model_json_schema(), '{"findings": []}', completion)

    parts: list[str] = []
    for f in files:
        if f.patch is None or f.is_lockfile or not f.added:
            continue
        # Whole files only (half a hunk misleads more than it helps); counted on the whole
        # prompt, since tokens at the joins do not add up part by part.
        if prompt_tokens(request([*parts, numbered_hunks(f)])) + completion <= budget_tokens:
            parts.append(numbered_hunks(f))
    return request(parts) if parts else None


async def llm_findings(
    llm: LLMBackend, agent: ReviewAgent, files: Sequence[ChangedFile], budget_tokens: int, max_attempts: int = 2
) -> tuple[list[Finding], int]:
    """The LLM's findings for one agent, and the tokens it used. An unreachable endpoint or
    answers that never validate cost the findings, never the review."""
    # The tokenizer loads on first use (seconds): off the event loop.
    request = await asyncio.to_thread(review_request, agent, files, budget_tokens)
    if request is None:
        return [], 0
    try:
        outcome = await generate_validated(llm, request, LLMFindings, max_attempts)
    except httpx.HTTPError as error:
        log.warning("LLM pass of %s skipped: %s", agent, type(error).__name__)
        return [], 0
    tokens = outcome.prompt_tokens + outcome.completion_tokens
    if outcome.answer is None:
        log.warning("LLM pass of %s gave no valid answer: %s", agent, "; ".join(outcome.errors)[:300])
        return [], tokens
    found = [
        Finding(agent=agent, path=f.path, line=f.line, severity=f.severity, rule=f"llm:{agent}", message=f.message,
                suggestion=f.suggestion)
        for f in outcome.answer.findings
    ]  # fmt: skip
    return found, tokens
