import json

import pytest

from forgeline.standins.review_samples import changed_files, planted_pull
from services.codereview.llm_pass import llm_findings, numbered_hunks, review_request, smollm2_prompt_tokens
from services.common.llm import Completion, LLMRequest

pytestmark = pytest.mark.unit


class Scripted:
    """A backend that answers each request with the next scripted text."""

    name = "scripted"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> Completion:
        self.requests.append(request)
        return Completion(self.answers.pop(0), 100, 20)


def test_hunks_carry_new_file_numbers() -> None:
    store = changed_files(planted_pull())[0]
    text = numbered_hunks(store)
    assert '   21 +    subprocess.run(f"tar czf {name}.tgz exports/{name}", shell=True, check=True)' in text
    assert text.startswith("### shop/store.py")


def test_the_prompt_fits_the_budget_by_the_tokenizer_or_is_not_sent() -> None:
    files = changed_files(planted_pull())
    request = review_request("security", files, budget_tokens=3000)
    assert request is not None and "injection" in request.prompt and "### shop/store.py" in request.prompt
    assert smollm2_prompt_tokens(request) + request.max_tokens <= 3000
    assert review_request("security", files, budget_tokens=100) is None
    small = review_request("docs", files, budget_tokens=600)
    assert small is not None and small.max_tokens == 200 and "### README.md" in small.prompt
    assert "### shop/store.py" not in small.prompt  # too big for this budget: left out whole
    assert smollm2_prompt_tokens(small) + small.max_tokens <= 600


def test_files_are_left_out_whole_by_the_count_given() -> None:
    files = changed_files(planted_pull())
    by_chars = review_request("docs", files, budget_tokens=10**6, prompt_tokens=lambda r: len(r.system) + len(r.prompt))
    assert by_chars is not None and "### shop/store.py" in by_chars.prompt
    cap = len(by_chars.system) + len(by_chars.prompt) + by_chars.max_tokens
    tighter = review_request("docs", files, budget_tokens=cap - 1, prompt_tokens=lambda r: len(r.system) + len(r.prompt))
    assert tighter is not None and tighter.prompt.count("### ") == by_chars.prompt.count("### ") - 1


async def test_findings_off_the_changed_lines_are_the_callers_to_drop_and_tokens_are_counted() -> None:
    answer = {"findings": [{"path": "shop/store.py", "line": 21, "severity": "critical", "message": "shell injection"}]}
    backend = Scripted("not json", json.dumps(answer))
    found, tokens = await llm_findings(backend, "security", changed_files(planted_pull()), budget_tokens=4000)
    assert [(f.rule, f.line, f.severity) for f in found] == [("llm:security", 21, "critical")]
    assert tokens == 240 and len(backend.requests) == 2


async def test_answers_that_never_validate_cost_the_findings_not_the_review() -> None:
    found, tokens = await llm_findings(Scripted("{}", "[]"), "docs", changed_files(planted_pull()), budget_tokens=4000)
    assert found == [] and tokens == 240
