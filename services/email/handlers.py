"""Compose one cart email: context -> retrieval -> generation -> guardrails -> decision.

A draft that fails validation or any guardrail is replaced by a deterministic fallback from
the best template that passes every check (or a plain built-in one), personalised with safe
fields only; the failed checks travel with the email and are recorded at delivery.
"""

from __future__ import annotations

import html
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg
from prometheus_client import Counter, Histogram

from services.common.events import CartAbandoned, EmailOutbound
from services.common.llm import LLMBackend
from services.common.retry import PermanentError
from services.email.context import CartContext, ItemCatalogue, load_context
from services.email.generation import CallToAction, EmailDraft, fill_template, generate_draft
from services.email.guardrails import ToxicityGuard, run_guardrails
from services.email.retrieval import Template, TemplateIndex

STAGE_SECONDS = Histogram("forgeline_email_stage_seconds", "Time in each composition stage.", ["stage"])
FALLBACKS = Counter("forgeline_email_fallbacks_total", "Emails replaced by the fallback, by first failed check.", ["check"])
COMPOSED = Counter("forgeline_email_composed_total", "Emails composed, by kind (generated, fallback).", ["kind"])


@dataclass
class ComposeDeps:
    """What composition needs (all passed in by the wiring)."""

    pool: asyncpg.Pool
    catalogue: ItemCatalogue
    index: TemplateIndex
    llm: LLMBackend
    publish: Callable[[EmailOutbound], Awaitable[None]]
    cart_url: str
    offbrand_terms: list[str]
    allowed_domains: list[str]
    max_attempts: int
    toxicity: ToxicityGuard


@contextmanager
def stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Time one stage into the histogram and the per-email timings."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        STAGE_SECONDS.labels(name).observe(elapsed)
        timings[name] = round(elapsed * 1000, 1)


async def compose_email(event: CartAbandoned, deps: ComposeDeps) -> EmailOutbound:
    """Build and publish the email for one abandoned cart."""
    timings: dict[str, float] = {}
    with stage("context", timings):
        ctx = await load_context(event, deps.pool, deps.catalogue)
    with stage("retrieval", timings):
        templates = await deps.index.top(ctx)
    if not templates:
        raise PermanentError(f"no email templates for cohort {ctx.shopper.cohort!r}: run `forgeline seed` or add some")
    with stage("generation", timings):
        generation = await generate_draft(deps.llm, ctx, templates, deps.cart_url, deps.max_attempts)
    failed: list[str] = []
    with stage("guardrails", timings):
        if generation.answer is None:
            failed.append(f"generation: no valid answer in {generation.attempts} attempts ({generation.errors[-1]})")
        else:
            checks = await run_guardrails(generation.answer, ctx, deps.offbrand_terms, deps.allowed_domains, deps.toxicity)
            failed.extend(f"{c.check}: {c.reason}" for c in checks if not c.passed)
    draft, template_id = generation.answer, templates[0].template_id
    if failed or draft is None:
        FALLBACKS.labels(failed[0].split(":", 1)[0]).inc()
        draft, template_id = await fallback_draft(ctx, templates, deps)
    COMPOSED.labels("fallback" if failed else "generated").inc()
    text, body_html = render(draft, ctx)
    outbound = EmailOutbound(
        event_id=uuid.uuid5(event.tenant_id, f"email.outbound/{event.cart_id}"),
        tenant_id=event.tenant_id,
        cart_id=event.cart_id,
        user_id=event.user_id,
        to=ctx.shopper.email,
        subject=draft.subject,
        preheader=draft.preheader,
        text=text,
        html=body_html,
        discount_code=draft.discount_code,
        fallback=bool(failed),
        failed_checks=failed,
        template_id=template_id,
        backend=deps.llm.name,
        stage_ms=timings,
    )
    await deps.publish(outbound)
    return outbound


async def fallback_draft(ctx: CartContext, templates: list[Template], deps: ComposeDeps) -> tuple[EmailDraft, str]:
    """The best template whose filled-in email passes every check, else a plain built-in one."""
    for template in templates:
        draft = fill_template(template, ctx, deps.cart_url)
        checks = await run_guardrails(draft, ctx, deps.offbrand_terms, deps.allowed_domains, deps.toxicity)
        if all(c.passed for c in checks):
            return draft, template.template_id
    promo = ctx.best_promotion
    offer = f" Use code {promo.code} for {promo.percent_off}% off." if promo else ""
    blocks = [f"You left some things in your cart. They are saved for you.{offer}"]
    plain = EmailDraft(
        subject=f"{ctx.shopper.first_name}, your cart is saved",
        preheader="Pick up where you left off",
        body_blocks=blocks,
        call_to_action=CallToAction(text="Return to your cart", url=deps.cart_url),
        discount_code=promo.code if promo else None,
    )
    return plain, "built-in"


def render(draft: EmailDraft, ctx: CartContext) -> tuple[str, str]:
    """Plain text and HTML bodies (HTML-escaped: the draft is untrusted model output)."""
    greeting = f"Hi {ctx.shopper.first_name},"
    lines = "\n".join(f"- {i.name} × {i.quantity}" for i in ctx.items)
    text = (
        f"{greeting}\n\n"
        + "\n\n".join(draft.body_blocks)
        + f"\n\n{lines}\n\n{draft.call_to_action.text}: {draft.call_to_action.url}\n"
    )
    paragraphs = "".join(f"<p>{html.escape(block)}</p>" for block in draft.body_blocks)
    items = "".join(f"<li>{html.escape(i.name)} × {i.quantity}</li>" for i in ctx.items)
    body_html = (
        f"<p>{html.escape(greeting)}</p>{paragraphs}<ul>{items}</ul>"
        f'<p><a href="{html.escape(draft.call_to_action.url, quote=True)}">{html.escape(draft.call_to_action.text)}</a></p>'
    )
    return text, body_html
