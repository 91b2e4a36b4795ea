"""A scripted OpenAI-compatible endpoint for the real-stack tests (the stand-in for vLLM).

The test stack's email composer runs with `LLM_BACKEND=openai` against it, so the real
`openai` backend code (HTTP, JSON schema request, token usage, validation, retries) is on
the path. By default it writes what the template backend would: the first example template
filled with the prompt's facts. A cart item whose name contains a probe word makes it
misbehave the way real models do:

    malformed     -> text that is not JSON
    toxic         -> a toxic sentence in the body
    offbrand      -> off-brand words
    hallucinate   -> a 50% discount code nobody granted

Moderation judge prompts (tier 3) get a verdict: reject when the text holds "judge-reject",
approve otherwise, with confidence 0.3 (so a human reviews) when it holds "judge-unsure".

Code review prompts (an agent's LLM pass) get one warning per added line holding
"llm-probe", at the line number the prompt shows; nothing otherwise.
"""

import json
from typing import Any

from fastapi import FastAPI

from forgeline.standins.threaded_server import ThreadedServer

PROBES = ("malformed", "toxic", "offbrand", "hallucinate")


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def judge(prompt: str) -> str:
    """The scripted moderation verdict (see the module docstring)."""
    text = json.loads(prompt.split("Item to judge:\n", 1)[1].split("\n\nGive your verdict.", 1)[0])["text"]
    reject = "judge-reject" in text
    return json.dumps(
        {
            "decision": "reject" if reject else "approve",
            "policy_clause": "hate" if reject else "none",
            "rationale": "scripted verdict",
            "confidence": 0.3 if "judge-unsure" in text else 0.9,
            "severity": "medium" if reject else "none",
        }
    )


def review(prompt: str) -> str:
    """The scripted code review findings (see the module docstring)."""
    findings, path = [], ""
    for line in prompt.splitlines():
        if line.startswith("### "):
            path = line[4:]
        elif "llm-probe" in line and line[6:7] == "+" and line[:5].strip().isdigit():
            findings.append({"path": path, "line": int(line[:5]), "severity": "warning",
                             "message": "The scripted model noticed the probe.", "suggestion": None})  # fmt: skip
    return json.dumps({"findings": findings})


def answer(prompt: str) -> str:
    """The scripted model's answer to one prompt (see the module docstring)."""
    if prompt.startswith("Item to judge:"):
        return judge(prompt)
    if prompt.startswith("Changed lines to review for"):
        return review(prompt)
    facts = json.loads(_between(prompt, "Shopper and cart:\n", "\n\nBest past emails"))
    examples = json.loads(_between(prompt, "(placeholders in braces):\n", "\n\nWrite the email."))
    names = " ".join(item["name"] for item in facts["cart"]).casefold()
    if "malformed" in names:
        return '{"subject": "Your cart", "body_blocks": ["unterminated'
    lines = [f"{i['quantity']} × {i['name']}" if i["quantity"] > 1 else f"the {i['name']}" for i in facts["cart"]]
    items = lines[0] if len(lines) == 1 else ", ".join(lines[:-1]) + " and " + lines[-1]
    granted = max(facts["granted_discounts"], key=lambda d: d["percent_off"], default=None)
    offer = f"Use code {granted['code']} for {granted['percent_off']}% off." if granted else ""
    values = {"first_name": facts["first_name"], "items": items, "discount": offer}
    example = examples[0]
    body = example["body"].format(**values).strip()
    code = granted["code"] if granted else None
    if "toxic" in names:
        body += " Ugly hoes like you never finish an order."
    if "offbrand" in names:
        body += " Dirt cheap, act now."
    if "hallucinate" in names:
        body += " Take 50% off with code HALFOFF."
        code = "HALFOFF"
    draft = {
        "subject": example["subject"].format(**values)[:80],
        "preheader": example["preheader"].format(**values)[:100],
        "body_blocks": [body[:240]],
        "call_to_action": {"text": "Return to your cart", "url": facts["cart_url"]},
        "discount_code": code,
    }
    return json.dumps(draft)


def create_app() -> FastAPI:
    """`POST /v1/chat/completions`, answering in the OpenAI response shape."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        text = answer(prompt)
        return {
            "id": "scripted",
            "object": "chat.completion",
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4},
        }

    return app


class ScriptedLLM(ThreadedServer):
    """Runs the endpoint in a thread on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__(create_app(), "scripted LLM")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"
