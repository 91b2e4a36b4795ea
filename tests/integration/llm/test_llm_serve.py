"""The OpenAI-compatible LLM application on the stack's real Ray: deployed by its deploy module,
asked by the same `openai` backend the email composer and moderation judge use."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest

from forgeline.standins.review_samples import changed_files, planted_pull
from services.codereview.llm_pass import llm_findings
from services.common.events import ClassifierScores, JudgeVerdict, ModerationTask
from services.common.llm import LLMRequest, OpenAICompatibleBackend, generate_validated
from services.common.settings import Settings
from services.email.generation import EmailDraft, build_request
from services.moderation.handlers import judge_categories, judge_request
from services.moderation.policy import default_policy
from tests.integration.common.test_llm_local import CONTEXT, TEMPLATE
from tests.integration.conftest import serve_admin

pytestmark = pytest.mark.integration

KEY = "it-llm-key"
MODEL = Settings().llm.model
# An answer that must end within a few tokens, whatever a 135M model would rather write.
FRUIT_SCHEMA = {"type": "object", "properties": {"fruit": {"type": "string", "enum": ["apple", "pear"]}}, "required": ["fruit"]}


@pytest.fixture(scope="module")
def llm_url(env: dict[str, str]) -> Iterator[str]:
    """The application deployed into the stack's Ray for this module, then deleted (it holds ~1 GB)."""
    subprocess.run(
        [sys.executable, "-m", "services.llm.deploy"],
        env={**os.environ, **env, "LLM_API_KEY": KEY, "LLM_MAX_TOKENS_LIMIT": "600"},
        check=True,
        timeout=300,
    )
    try:
        yield f"{env['SERVE_URL']}/llm/v1"
    finally:
        serve_admin(env, "serve.delete('llm')")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=240) as client:
        yield client


async def test_the_email_request_gets_a_schema_valid_answer_through_the_openai_backend(
    llm_url: str, http: httpx.AsyncClient
) -> None:
    backend = OpenAICompatibleBackend(http, llm_url, MODEL, KEY)
    outcome = await generate_validated(
        backend, build_request(CONTEXT, [TEMPLATE], "https://shop.forgeline.example/cart"), EmailDraft, 2
    )
    assert outcome.answer is not None, outcome.errors  # constrained decoding on the replica
    assert outcome.prompt_tokens > 100 and outcome.completion_tokens > 0


async def engine_health(http: httpx.AsyncClient, llm_url: str) -> dict[str, object]:
    response = await http.get(llm_url.removesuffix("/v1") + "/healthz")
    response.raise_for_status()
    health: dict[str, object] = response.json()
    return health


async def test_concurrent_requests_share_engine_steps_and_keep_their_own_limits(llm_url: str, http: httpx.AsyncClient) -> None:
    async def ask(i: int, max_tokens: int) -> httpx.Response:
        return await http.post(
            f"{llm_url}/chat/completions",
            headers={"Authorization": f"Bearer {KEY}"},
            json={
                "model": MODEL,
                "messages": [{"role": "user", "content": f"Basket {i}: apples or pears? Answer in JSON."}],
                "max_tokens": max_tokens,
                "response_format": {"type": "json_schema", "json_schema": {"name": "fruit", "schema": FRUIT_SCHEMA}},
            },
        )

    steps_before = int(str((await engine_health(http, llm_url))["steps"]))
    responses = await asyncio.gather(*(ask(i, 24) for i in range(6)), ask(99, 3))
    steps = int(str((await engine_health(http, llm_url))["steps"])) - steps_before
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for response in responses[:-1]:
        body = response.json()
        assert json.loads(body["choices"][0]["message"]["content"])["fruit"] in ("apple", "pear")
        assert body["choices"][0]["finish_reason"] == "stop"
    short = responses[-1].json()
    assert short["usage"]["completion_tokens"] <= 3 and short["choices"][0]["finish_reason"] == "length"
    tokens = sum(r.json()["usage"]["completion_tokens"] for r in responses)
    assert steps < tokens  # rows decoded together: one engine step gave several requests a token

    free = await http.post(
        f"{llm_url}/chat/completions",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8},
    )
    assert free.status_code == 200 and free.json()["choices"][0]["message"]["content"].strip()


async def test_bad_requests_get_openai_shaped_errors_that_say_what_to_fix(llm_url: str, http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    ask = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    health = await http.get(llm_url.removesuffix("/v1") + "/healthz")  # the one open route
    assert health.status_code == 200 and health.json()["model"] == MODEL

    no_key = await http.post(f"{llm_url}/chat/completions", json=ask)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "invalid_api_key"
    assert (await http.get(f"{llm_url}/models")).status_code == 401
    models = await http.get(f"{llm_url}/models", headers=auth)
    assert [m["id"] for m in models.json()["data"]] == [MODEL]

    cases = [
        (
            {**ask, "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "strin"}}}},
            400,
            "cannot be enforced",
        ),
        ({**ask, "messages": [{"role": "user", "content": "word " * 3000}]}, 400, "exceed this deployment's context"),
        ({**ask, "model": "gpt-4o"}, 404, "this endpoint serves"),
        ({**ask, "max_tokens": 5000}, 400, "above this deployment's limit of 600"),
        ({"model": MODEL}, 400, "messages: Field required"),
    ]
    for body, status, message in cases:
        response = await http.post(f"{llm_url}/chat/completions", headers=auth, json=body)
        assert response.status_code == status, response.text
        assert message in response.json()["error"]["message"]


async def test_the_chat_route_refuses_a_wrong_key_even_with_a_valid_body(llm_url: str, http: httpx.AsyncClient) -> None:
    backend = OpenAICompatibleBackend(http, llm_url, MODEL, "not-the-key")
    request = LLMRequest(system="s", prompt="p", schema=FRUIT_SCHEMA, template_answer="{}", max_tokens=4)
    with pytest.raises(httpx.HTTPStatusError, match="401"):
        await backend.complete(request)


@pytest.fixture
def client(llm_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_url, api_key=KEY, timeout=240, max_retries=0)


async def test_the_official_openai_client_streams_free_text_and_schema_bound_json(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Say hello to the shop."}], max_tokens=12, stream=True
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and len(chunks) > 3  # the text arrived in pieces
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 12

    bound = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Apples or pears? Answer in JSON."}],
        max_tokens=24,
        stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "fruit", "schema": FRUIT_SCHEMA}},
    )
    pieces = [chunk async for chunk in bound]
    answer = json.loads("".join(c.choices[0].delta.content or "" for c in pieces if c.choices))
    assert answer["fruit"] in ("apple", "pear") and pieces[-1].choices[0].finish_reason == "stop"


async def test_a_client_that_disconnects_mid_stream_frees_its_row(
    client: openai.AsyncOpenAI, llm_url: str, http: httpx.AsyncClient
) -> None:
    cancelled_before = int(str((await engine_health(http, llm_url))["cancelled"]))
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Tell a very long story."}], max_tokens=500, stream=True
    )
    received = 0
    async for chunk in stream:
        received += bool(chunk.choices and chunk.choices[0].delta.content)
        if received == 3:
            break
    assert (await engine_health(http, llm_url))["active"] == 1  # still decoding its 500 tokens
    await stream.close()  # the client leaves mid-answer
    health = await engine_health(http, llm_url)
    for _ in range(600):  # the row is freed at the engine's next step, after the cancel arrives
        if health["active"] == 0:
            break
        await asyncio.sleep(0.1)
        health = await engine_health(http, llm_url)
    assert health["active"] == 0 and int(str(health["cancelled"])) == cancelled_before + 1


async def test_the_moderation_judge_and_the_review_pass_get_valid_answers_from_the_application(
    llm_url: str, http: httpx.AsyncClient
) -> None:
    """Tiers 3 and the review pass, unchanged, against the real application (the stack's tests
    use a scripted endpoint): every answer follows its schema, so none is lost to validation."""
    backend = OpenAICompatibleBackend(http, llm_url, MODEL, KEY)
    task = ModerationTask(
        tenant_id=uuid.uuid4(),
        author_id="a-17",
        country="DE",
        text="People like you should be thrown out of this country.",
        policy_version="v1",
        scores=ClassifierScores(hate=0.55, offensive=0.3, neither=0.15),
    )
    categories = judge_categories(default_policy(), task.country)
    verdict = await generate_validated(backend, judge_request(task, categories), JudgeVerdict, 1)
    assert verdict.answer is not None, verdict.errors
    assert verdict.answer.policy_clause in [*categories, "none"]  # bound by the schema
    found, tokens = await llm_findings(backend, "security", changed_files(planted_pull()), budget_tokens=1500, max_attempts=1)
    assert tokens > 0 and all(f.rule == "llm:security" for f in found)
