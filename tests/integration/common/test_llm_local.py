"""The `local` backend with the real SmolLM2 weights (no servers; ~30-60 s on 2 cores)."""

from decimal import Decimal
from pathlib import Path

import pytest

from services.common.llm import generate_validated
from services.common.llm_local import Chat, LocalBackend, chat_tokens, fast_chat_tokens
from services.common.settings import Settings
from services.email.context import CartContext, ItemLine, Promotion, Shopper
from services.email.generation import EmailDraft, build_request
from services.email.retrieval import Template

pytestmark = pytest.mark.integration

CONTEXT = CartContext(
    tenant_id="t",
    cart_id="c-local",
    currency="USD",
    shopper=Shopper(user_id="u1", email="ada@example.com", first_name="Ada", last_name="Okafor", cohort="loyal"),
    items=[ItemLine(sku="S1", name="classic daypack", category="bags", quantity=1, unit_price=Decimal("40"), in_stock=True)],
    total=Decimal("40"),
    past_purchases=3,
    favourite_category="bags",
    promotions=[Promotion(code="THANKYOU15", percent_off=15)],
)
TEMPLATE = Template(
    template_id="loyal-01",
    cohort="loyal",
    subject="{first_name}, we saved your favourites",
    preheader="Your cart, kept for you",
    body="Thanks for coming back. {items} are ready to go. {discount}",
    call_to_action="Return to your cart",
    conversion_rate=0.1,
)


async def test_smollm2_answers_inside_the_schema_and_counts_tokens(tmp_path: Path) -> None:
    request = build_request(CONTEXT, [TEMPLATE], "https://shop.forgeline.example/cart")
    outcome = await generate_validated(LocalBackend(Settings().llm, tmp_path), request, EmailDraft, max_attempts=2)
    assert outcome.answer is not None, outcome.errors  # constrained decoding: valid JSON of the schema
    assert outcome.prompt_tokens > 100 and 0 < outcome.completion_tokens <= 2 * request.max_tokens


def test_prompt_tokens_are_counted_by_the_models_tokenizer() -> None:
    """What the code review bench reports as prompt tokens: SmolLM2's count, chat template included."""
    from services.common.llm_local import Chat, chat_tokens, smollm2_tokenizer

    code = "    total = sum(item.price * item.quantity for item in cart.items)\n" * 30
    bare = Chat(({"role": "user", "content": ""},), None, 10)
    with_code = Chat(({"role": "user", "content": code},), None, 10)
    template_only = chat_tokens(bare)
    assert template_only > 0
    alone = len(smollm2_tokenizer()(code, add_special_tokens=False)["input_ids"])
    assert abs(chat_tokens(with_code) - template_only - alone) <= 2  # the template's edges may merge a token


def test_the_extracted_tokenizer_counts_as_transformers_does(tmp_path: Path) -> None:
    """The review agents count prompts with the fast files; the budget is only as good as the match."""
    fast = fast_chat_tokens(tmp_path)
    code = '   21 +    subprocess.run(f"tar czf {name}.tgz exports/{name}", shell=True, check=True)\n' * 20
    chats = [
        Chat.of(build_request(CONTEXT, [TEMPLATE], "https://shop.forgeline.example/cart")),
        Chat(({"role": "system", "content": "Review."}, {"role": "user", "content": code + "émoji ☕ 日本"}), None, 10),
        Chat(({"role": "user", "content": "no system message"},), None, 10),
    ]
    assert [fast(chat) for chat in chats] == [chat_tokens(chat) for chat in chats]
    assert (tmp_path / "smollm2-SmolLM2-135M-Instruct.Q4_1" / "tokenizer.json").exists()
