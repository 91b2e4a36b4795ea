import json
import uuid
from pathlib import Path

import pytest

from forgeline.bench.llm import load_chats, save_chats
from services.common.events import ClassifierScores, ContentSubmitted, JudgeVerdict
from services.common.llm import Completion, LLMRequest, TemplateBackend, generate_validated
from services.common.llm_local import Chat
from services.moderation.evaluate import RecordedJudge, RecordingJudge
from services.moderation.handlers import escalate, judge_categories, judge_request
from services.moderation.policy import default_policy

pytestmark = pytest.mark.unit


def request(text: str) -> LLMRequest:
    item = ContentSubmitted(tenant_id=uuid.uuid4(), text=text, author_id="a", country="US")
    task = escalate(item, "v1", [], ClassifierScores(hate=0.3, offensive=0.4, neither=0.3))
    return judge_request(task, judge_categories(default_policy(), "US"))


async def test_judge_requests_recorded_here_are_answered_from_a_file_written_elsewhere(tmp_path: Path) -> None:
    chats: dict[str, Chat] = {}
    recording = RecordingJudge(TemplateBackend(), chats)
    for text in ("first item", "second item", "first item"):
        await recording.complete(request(text))
    assert len(chats) == 2  # one chat per distinct request
    save_chats(list(chats.values()), tmp_path / "chats.json")
    carried = load_chats(tmp_path / "chats.json")  # what the GPU machine reads
    verdict = {"decision": "reject", "confidence": 0.9, "policy_clause": "hate", "rationale": "r", "severity": "high"}
    answers = [
        {"key": c.key(), "text": json.dumps(verdict), "prompt_tokens": 10, "completion_tokens": 5, "finish": "stop"}
        for c in carried
    ]
    (tmp_path / "answers.json").write_text(json.dumps({"device": "cuda:0", "chats": 2, "answers": answers}))
    judge = RecordedJudge(tmp_path / "answers.json")
    outcome = await generate_validated(judge, request("second item"), JudgeVerdict, 2)
    assert outcome.answer is not None and outcome.answer.decision == "reject"
    assert judge.source["device"] == "cuda:0" and judge.source["file"] == "answers.json"
    with pytest.raises(LookupError, match="save them again"):
        await judge.complete(request("an item nobody recorded"))


def test_a_truncated_recorded_answer_stays_truncated(tmp_path: Path) -> None:
    chat = Chat.of(request("x"))
    answer = {"key": chat.key(), "text": '{"decision": "rej', "prompt_tokens": 1, "completion_tokens": 200, "finish": "length"}
    (tmp_path / "answers.json").write_text(json.dumps({"answers": [answer]}))
    found = RecordedJudge(tmp_path / "answers.json")._answers[chat.key()]
    assert found == Completion('{"decision": "rej', 1, 200, truncated=True)
