import json
from decimal import Decimal

import pytest

from services.common.llm import Completion, LLMRequest, TemplateBackend, generate_validated
from services.email.context import CartContext, ItemLine, Promotion, Shopper
from services.email.generation import EmailDraft, build_request, fill_template, item_phrase
from services.email.retrieval import Template

pytestmark = pytest.mark.unit

URL = "https://shop.forgeline.example/cart"


def ctx(promotions: list[Promotion]) -> CartContext:
    return CartContext(
        tenant_id="t",
        cart_id="c1",
        currency="USD",
        shopper=Shopper(user_id="u1", email="bo@example.com", first_name="Bo", last_name="Silva", cohort="new"),
        items=[
            ItemLine(sku="A", name="classic tote", category="bags", quantity=1, unit_price=Decimal("20"), in_stock=True),
            ItemLine(sku="B", name="pro mug", category="home", quantity=2, unit_price=Decimal("9"), in_stock=False),
        ],
        total=Decimal("38"),
        past_purchases=0,
        favourite_category=None,
        promotions=promotions,
    )


TEMPLATE = Template(
    template_id="new-01",
    cohort="new",
    subject="{first_name}, your cart is waiting",
    preheader="Finish your first order",
    body="You left {items} in your cart. {discount}",
    call_to_action="Return to your cart",
    conversion_rate=0.05,
)


def test_template_is_filled_with_safe_fields_and_the_best_granted_code() -> None:
    draft = fill_template(TEMPLATE, ctx([Promotion(code="A5", percent_off=5), Promotion(code="WELCOME10", percent_off=10)]), URL)
    assert draft.subject == "Bo, your cart is waiting"
    assert draft.body_blocks == ["You left the classic tote and 2 × pro mug in your cart. Use code WELCOME10 for 10% off."]
    assert draft.discount_code == "WELCOME10"
    assert "Silva" not in draft.model_dump_json() and "bo@example.com" not in draft.model_dump_json()
    assert fill_template(TEMPLATE, ctx([]), URL).discount_code is None
    assert item_phrase(ctx([])) == "the classic tote and 2 × pro mug"


def test_prompt_carries_no_personal_data_but_the_first_name() -> None:
    request = build_request(ctx([]), [TEMPLATE], URL)
    assert "Bo" in request.prompt and "Silva" not in request.prompt and "bo@example.com" not in request.prompt
    assert json.loads(request.template_answer)["subject"] == "Bo, your cart is waiting"
    assert request.schema["title"] == "EmailDraft"


class Scripted:
    """Answers from a script, one per call (the test stand-in for a model)."""

    name = "scripted"

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers

    async def complete(self, request: LLMRequest) -> Completion:
        return Completion(self.answers.pop(0), 10, 5)


async def test_invalid_answers_are_retried_within_the_budget() -> None:
    valid = fill_template(TEMPLATE, ctx([]), URL).model_dump_json()
    request = build_request(ctx([]), [TEMPLATE], URL)
    outcome = await generate_validated(Scripted(["not json", '{"subject": "x"}', valid]), request, EmailDraft, max_attempts=3)
    assert outcome.answer is not None and outcome.attempts == 3
    assert (outcome.prompt_tokens, outcome.completion_tokens) == (30, 15)
    assert len(outcome.errors) == 2 and "invalid answer" in outcome.errors[0]
    spent = await generate_validated(Scripted(["{}", "{}"]), request, EmailDraft, max_attempts=2)
    assert spent.answer is None and spent.attempts == 2


async def test_template_backend_returns_the_template_answer() -> None:
    request = build_request(ctx([]), [TEMPLATE], URL)
    outcome = await generate_validated(TemplateBackend(), request, EmailDraft, max_attempts=1)
    assert outcome.answer is not None and outcome.answer.subject == "Bo, your cart is waiting"
