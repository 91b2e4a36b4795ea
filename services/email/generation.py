"""Stage 3, generation: profile, cart and templates to an LLM; the answer must match `EmailDraft`."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.common.llm import Generation, LLMBackend, LLMRequest, generate_validated
from services.email.context import CartContext
from services.email.retrieval import Template

SYSTEM = (
    "You write short, friendly cart-reminder emails for an online shop. Answer with JSON only, "
    "matching the schema. Address the shopper by first name only. Offer a discount only if one "
    "is listed as granted, with exactly that code; otherwise set discount_code to null."
)


class CallToAction(BaseModel):
    """The email's one button."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=2, max_length=40)
    url: str = Field(min_length=8, max_length=120)


class EmailDraft(BaseModel):
    """What the LLM must produce (its JSON schema is sent with the request)."""

    model_config = ConfigDict(extra="forbid")

    # Tight bounds keep a small model's answer inside its token budget (~300 tokens in all).
    subject: str = Field(min_length=3, max_length=80)
    preheader: str = Field(min_length=3, max_length=100)
    body_blocks: list[Annotated[str, Field(min_length=1, max_length=240)]] = Field(min_length=1, max_length=2)
    call_to_action: CallToAction
    discount_code: str | None = Field(default=None, max_length=32)  # a code, not prose: bounds the answer


def item_phrase(ctx: CartContext) -> str:
    """'the classic daypack and 2 × pro tote' style phrase for templates."""
    parts = [f"{i.quantity} × {i.name}" if i.quantity > 1 else f"the {i.name}" for i in ctx.items]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def fill_template(template: Template, ctx: CartContext, cart_url: str, discount: bool = True) -> EmailDraft:
    """The deterministic email of a template (the `template` backend's answer, and the fallback's base)."""
    promo = ctx.best_promotion if discount else None
    offer = f"Use code {promo.code} for {promo.percent_off}% off." if promo else ""
    values = {"first_name": ctx.shopper.first_name, "items": item_phrase(ctx), "discount": offer}
    return EmailDraft(
        subject=template.subject.format(**values)[:80],
        preheader=template.preheader.format(**values)[:100],
        body_blocks=[template.body.format(**values).strip()[:240]],
        call_to_action=CallToAction(text=template.call_to_action[:40], url=cart_url),
        discount_code=promo.code if promo else None,
    )


def build_request(ctx: CartContext, templates: list[Template], cart_url: str) -> LLMRequest:
    """The prompt (safe fields only: first name, cohort, items, granted codes) and the template answer."""
    facts = {
        "first_name": ctx.shopper.first_name,
        "cohort": ctx.shopper.cohort,
        "cart": [{"name": i.name, "category": i.category, "quantity": i.quantity, "in_stock": i.in_stock} for i in ctx.items],
        "favourite_category": ctx.favourite_category,
        "granted_discounts": [{"code": p.code, "percent_off": p.percent_off} for p in ctx.promotions],
        "cart_url": cart_url,
    }
    examples = [{"subject": t.subject, "preheader": t.preheader, "body": t.body} for t in templates]
    prompt = (
        f"Shopper and cart:\n{json.dumps(facts)}\n\nBest past emails for this cohort (placeholders in braces):\n"
        f"{json.dumps(examples)}\n\nWrite the email."
    )
    answer = fill_template(templates[0], ctx, cart_url).model_dump_json() if templates else "{}"
    return LLMRequest(system=SYSTEM, prompt=prompt, schema=EmailDraft.model_json_schema(), template_answer=answer, max_tokens=400)


async def generate_draft(
    backend: LLMBackend, ctx: CartContext, templates: list[Template], cart_url: str, max_attempts: int
) -> Generation[EmailDraft]:
    """A schema-valid draft, or none after `max_attempts` invalid answers."""
    return await generate_validated(backend, build_request(ctx, templates, cart_url), EmailDraft, max_attempts)
