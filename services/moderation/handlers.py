"""The three tiers as plain async functions of contracts (wiring in `app.py`).

    content.submitted --rules--> decided | moderation.tier2
    moderation.tier2 --classifier--> decided | moderation.tier3
    moderation.tier3 --LLM judge--> decided | review queue (moderation.review)

No tier ever approves because a later one is unavailable: the classifier consumer waits
for its deployment (lag grows), and a judge that cannot answer sends the item to humans.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import httpx

from services.common.events import (
    ClassifierScores,
    ContentSubmitted,
    DecidingTier,
    Decision,
    Event,
    JudgeVerdict,
    ModerationDecided,
    ModerationTask,
    ReviewRequested,
    RuleMatch,
)
from services.common.llm import LLMBackend, LLMRequest, generate_validated
from services.common.retry import PermanentError, RetryPolicy
from services.common.topics import MODERATION_DECIDED, MODERATION_REVIEW, MODERATION_TIER2, MODERATION_TIER3, TopicSpec
from services.moderation.policy import Policy
from services.moderation.rules import RuleBook
from services.moderation.store import enqueue_review, original_decision, record_decision, save_content

log = logging.getLogger("forgeline.moderation")
Publish = Callable[[TopicSpec, Event], Awaitable[None]]
HATE = "hate"  # the category of the classifier's rejections (Davidson labels one kind of harm)
NO_CATEGORY = "none"  # what an approving verdict cites


@dataclass
class TierDeps:
    """What every tier needs: the database, the bus and its own name."""

    pool: asyncpg.Pool
    publish: Publish
    service: str


async def decide(
    deps: TierDeps,
    item: ContentSubmitted,
    decision: Decision,
    tier: DecidingTier,
    reasons: list[str],
    policy_version: str,
    rule_matches: list[RuleMatch],
    scores: ClassifierScores | None = None,
    verdict: JudgeVerdict | None = None,
    category: str | None = None,
) -> ModerationDecided:
    """Record the item's final decision (once) and publish the stored one. A rejection names
    its `category`; an approval carries the labels its rule matches call for."""
    stored = await record_decision(
        deps.pool,
        ModerationDecided(
            tenant_id=item.tenant_id,
            content_id=item.content_id,
            decision=decision,
            tier=tier,
            reasons=reasons,
            category=category if decision == "reject" else None,
            labels=labels_of(rule_matches) if decision == "approve" else [],
            rule_matches=rule_matches,
            scores=scores,
            verdict=verdict,
            policy_version=policy_version,
            country=item.country,
            decided_by=deps.service,
        ),
    )
    await deps.publish(MODERATION_DECIDED, stored)
    return stored


async def announced_again(deps: TierDeps, content_id: uuid.UUID) -> bool:
    """A redelivered item that is already decided: publish its stored decision again and stop.
    The tier that decided may have died between storing and publishing it (the classifier
    drill caught exactly that); the same `decision_id` again is de-duplicated downstream."""
    stored = await original_decision(deps.pool, content_id)
    if stored is None:
        return False
    await deps.publish(MODERATION_DECIDED, stored)
    return True


def escalate(
    item: ContentSubmitted, policy_version: str, rule_matches: list[RuleMatch], scores: ClassifierScores | None = None
) -> ModerationTask:
    """The next tier's task for `item`, carrying the evidence so far."""
    fields = item.model_dump(exclude={"event_id", "occurred_at", "schema_version"})
    fields.update(policy_version=policy_version, rule_matches=rule_matches, scores=scores)
    return ModerationTask.model_validate(fields)


def labels_of(matches: list[RuleMatch]) -> list[str]:
    """The categories of `matches` whose policy action is `label`, once each."""
    return sorted({m.category for m in matches if m.action == "label"})


def describe_matches(matches: list[RuleMatch]) -> list[str]:
    """One reason per matched rule."""
    return [f"rule {m.rule} ({m.category}, {m.severity})" for m in matches]


# ---- tier 1 ---------------------------------------------------------------------------------


@dataclass
class RulesDeps(TierDeps):
    """Tier 1: the compiled policy."""

    rules: RuleBook


async def moderate_submitted(event: ContentSubmitted, deps: RulesDeps) -> None:
    """Tier 1: decide clear cases by rule, escalate the rest to the classifier."""
    try:
        report = deps.rules.evaluate(event.text, event.country, event.links)
    except ValueError as error:  # an unknown country: no policy to apply, so never a default decision
        raise PermanentError(str(error)) from error
    await save_content(deps.pool, event)
    if report.outcome == "escalate":
        if not await announced_again(deps, event.content_id):
            await deps.publish(MODERATION_TIER2, escalate(event, report.policy_version, report.matches))
        return
    if report.outcome == "review":
        if not await announced_again(deps, event.content_id):
            task = escalate(event, report.policy_version, report.matches)
            await send_to_review(deps, task, f"policy: {report.category} is decided by a person", None)
        return
    reasons = describe_matches(report.matches) or ["no policy rule matched and every link is trusted"]
    decision: Decision = "reject" if report.outcome == "reject" else "approve"
    await decide(deps, event, decision, "rules", reasons, report.policy_version, report.matches, category=report.category)


# ---- tier 2 ---------------------------------------------------------------------------------

ClassifierOutcome = Literal["reject", "approve", "uncertain"]
ClassifierResult = tuple[ClassifierScores, ClassifierOutcome]
Classify = Callable[[str], Awaitable[ClassifierResult]]


@dataclass
class ClassifierDeps(TierDeps):
    """Tier 2: the classifier deployment (scores and the outcome under its thresholds)."""

    classify: Classify


async def classify_task(task: ModerationTask, deps: ClassifierDeps) -> None:
    """Tier 2: confident scores decide, the uncertain band goes to the judge."""
    if await announced_again(deps, task.content_id):
        return
    scores, outcome = await deps.classify(task.text)
    if outcome == "uncertain":
        await deps.publish(MODERATION_TIER3, escalate(task, task.policy_version, task.rule_matches, scores))
        return
    reasons = [f"classifier P(hate)={scores.hate:.3f} P(offensive)={scores.offensive:.3f}", *describe_matches(task.rule_matches)]
    await decide(deps, task, outcome, "classifier", reasons, task.policy_version, task.rule_matches, scores, category=HATE)


CLASSIFY_PATH = "/moderation/classify"  # the Serve application's route prefix and its scoring route


def classify_url(serve_base_url: str) -> str:
    """The classifier deployment's scoring URL behind Ray Serve's proxy."""
    return f"{serve_base_url}{CLASSIFY_PATH}"


class ServeClassifier:
    """Calls the classifier deployment over Ray Serve's HTTP proxy.

    Concurrent calls (the records of one Kafka batch, handled side by side) are coalesced
    into one `/classify` request of up to `max_texts`, sent after `linger_s`: the replica
    scores it in one forward pass, and per-call overhead, not the GPU, is what limits
    one-text requests. While the deployment is down the request is retried with capped
    backoff, so handlers wait (the topic's lag grows) rather than guess.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        wait: Callable[[float], Awaitable[None]],
        max_backoff_s: float = 5.0,
        max_texts: int = 64,
        linger_s: float = 0.005,
    ) -> None:
        self._http = http
        self._url = url
        self._wait = wait
        self._backoff = RetryPolicy(backoff_initial_s=0.2, backoff_max_s=max_backoff_s)
        self._max_texts = max_texts
        self._linger_s = linger_s
        self._pending: list[tuple[str, asyncio.Future[ClassifierResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, text: str) -> ClassifierResult:
        """Scores and outcome for one text."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ClassifierResult] = loop.create_future()
        self._pending.append((text, future))
        if len(self._pending) >= self._max_texts:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._linger_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.create_task(self._send(batch))
            self._sending.add(task)  # keep a reference until it is done
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[str, asyncio.Future[ClassifierResult]]]) -> None:
        try:
            results = await self._classify([text for text, _ in batch])
        except Exception as error:  # a bug-class error reaches every caller's retry policy
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _classify(self, texts: list[str]) -> list[ClassifierResult]:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.post(self._url, json={"texts": texts})
                if response.status_code < 500 and response.status_code != 404:
                    response.raise_for_status()  # a 4xx other than a missing app is our bug: surface it
                    return [(ClassifierScores.model_validate(r["scores"]), r["outcome"]) for r in response.json()["results"]]
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as error:
                problem = type(error).__name__
            # The deployment is down or restarting: wait (the topic's lag grows) rather than guess.
            delay = self._backoff.backoff_s(attempt)
            log.warning("classifier unavailable (%s); retrying in %.1fs", problem, delay)
            await self._wait(delay)


# ---- tier 3 ---------------------------------------------------------------------------------


@dataclass
class JudgeDeps(TierDeps):
    """Tier 3: the LLM and when its verdict is trusted."""

    llm: LLMBackend
    policy: Policy
    min_confidence: float
    max_attempts: int


JUDGE_SYSTEM = (
    "You are a trust-and-safety judge applying a content policy. Hateful content (slurs, dehumanisation, "
    "derogation or threats aimed at people for a protected characteristic) is rejected. Profanity, criticism "
    "of ideas, counter-speech, quoting hate to condemn it and reclaimed in-group usage are approved. "
    "Answer only with JSON that matches the schema."
)


def judge_categories(policy: Policy, country: str) -> dict[str, str]:
    """What a judge's rejection may rest on: the policy's categories that reject, for the
    item's country, with their descriptions."""
    return {name: c.description for name, c in policy.categories.items() if policy.action(name, country) == "reject"}


def judge_request(task: ModerationTask, categories: dict[str, str]) -> LLMRequest:
    """The judge's question about one item, with the evidence of the cheaper tiers. The answer's
    schema binds `policy_clause` to `categories` (`judge_categories`) or `none`, so a
    schema-bound engine cannot cite anything else."""
    evidence = {
        "text": task.text,
        "country": task.country,
        "links": task.links,
        "matched_rules": [m.rule for m in task.rule_matches],
        "classifier": task.scores.model_dump() if task.scores else None,
        "policy_categories": categories,
    }
    prompt = f"Item to judge:\n{json.dumps(evidence, ensure_ascii=False)}\n\nGive your verdict."
    schema = JudgeVerdict.model_json_schema()
    schema["properties"]["policy_clause"] = {**schema["properties"]["policy_clause"], "enum": [*categories, NO_CATEGORY]}
    return LLMRequest(
        system=JUDGE_SYSTEM,
        prompt=prompt,
        schema=schema,
        template_answer=template_verdict(task).model_dump_json(),
        max_tokens=200,
    )


def template_verdict(task: ModerationTask) -> JudgeVerdict:
    """The deterministic judge (`LLM_BACKEND=template`, no model): it suggests the classifier's
    lean with confidence 0, so every item that reaches tier 3 goes to a human. Nothing the
    classifier was unsure of is approved without a real judge."""
    scores = task.scores or ClassifierScores(hate=0.5, offensive=0.0, neither=0.5)
    hateful = scores.hate >= max(scores.offensive, scores.neither)
    return JudgeVerdict(
        decision="reject" if hateful else "approve",
        policy_clause=HATE if hateful else NO_CATEGORY,
        rationale="no LLM judge configured (LLM_BACKEND=template): the classifier's lean, for a human to confirm",
        confidence=0.0,
        severity="medium" if hateful else "none",
    )


async def judge_task(task: ModerationTask, deps: JudgeDeps) -> None:
    """Tier 3: a confident verdict decides; low confidence, high severity or no answer go to humans."""
    if await announced_again(deps, task.content_id):
        return
    categories = judge_categories(deps.policy, task.country)
    try:
        outcome = await generate_validated(deps.llm, judge_request(task, categories), JudgeVerdict, deps.max_attempts)
        verdict, problem = outcome.answer, "; ".join(outcome.errors)
    except httpx.HTTPError as error:  # the judge is down: humans decide, nothing is approved by default
        verdict, problem = None, f"judge unavailable: {type(error).__name__}"
    review_reason = needs_human(verdict, problem, deps.min_confidence, categories)
    if review_reason is not None or verdict is None:
        await send_to_review(deps, task, review_reason or problem, verdict)
    else:
        reasons = [f"judge: {verdict.policy_clause}: {verdict.rationale}", *describe_matches(task.rule_matches)]
        await decide(
            deps,
            task,
            verdict.decision,
            "judge",
            reasons,
            task.policy_version,
            task.rule_matches,
            task.scores,
            verdict,
            category=verdict.policy_clause,
        )


def needs_human(verdict: JudgeVerdict | None, problem: str, min_confidence: float, categories: Collection[str]) -> str | None:
    """Why a human must decide instead of the judge, or None when the verdict stands. A
    rejection must rest on one of the policy's rejecting `categories`, an approval on none
    (an engine that ignores the schema can say otherwise)."""
    if verdict is None:
        return f"no valid verdict from the judge ({problem})"
    if (verdict.decision == "reject") != (verdict.policy_clause in categories):
        return f"the judge's {verdict.decision} cites {verdict.policy_clause[:40]!r}, not what the policy allows for it"
    if verdict.confidence < min_confidence:
        return f"judge unsure ({verdict.confidence:.2f} < {min_confidence:.2f})"
    if verdict.severity == "high":
        return f"high severity ({verdict.policy_clause}): a human confirms"
    return None


async def send_to_review(deps: TierDeps, task: ModerationTask, reason: str, verdict: JudgeVerdict | None) -> None:
    """Queue the item for a human with the evidence, and announce it on moderation.review."""
    evidence: dict[str, Any] = {
        "policy_version": task.policy_version,
        "rule_matches": [m.model_dump() for m in task.rule_matches],
        "scores": task.scores.model_dump() if task.scores else None,
        "verdict": verdict.model_dump() if verdict else None,
    }
    if await enqueue_review(deps.pool, task.content_id, "review", reason, evidence):
        await deps.publish(
            MODERATION_REVIEW, ReviewRequested(tenant_id=task.tenant_id, content_id=task.content_id, lane="review", reason=reason)
        )
