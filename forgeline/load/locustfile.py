"""Locust users, one class per pipeline, sending the seed's requests through the gateway.

Run by `forgeline load` (headless, or Locust's web UI) and by the drill runner. The plan comes
from the environment, so the same file serves both: `FORGELINE_LOAD_PLAN` (JSON: seed,
duration_s, rates per pipeline, optional record file and start time) and `FORGELINE_LOAD_KEY`
(the API key: never on a command line, where `ps` would show it).

Each pipeline sends its `duration_s x rate` requests, numbered from a shared counter so every
run of a seed sends the same set; its users pace themselves to the rate. Image requests that
get no answer or a 5xx are retried with the same Idempotency-Key, as a careful client would,
so a job is never submitted twice; carts likewise, with the same event id. Every final answer
is appended to the record file for the drill's auditor.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from typing import Any, ClassVar

import gevent
from locust import HttpUser, task
from locust.exception import StopUser

from forgeline.load.requests import ID_FIELD, USER_CLASSES, pull_request, request, users_for
from services.common.retry import RetryPolicy

PLAN: dict[str, Any] = json.loads(os.environ.get("FORGELINE_LOAD_PLAN", "{}") or "{}")
KEY = os.environ.get("FORGELINE_LOAD_KEY", "")
WEBHOOK_SECRET = os.environ.get("FORGELINE_LOAD_WEBHOOK_SECRET", "")  # pull requests: signs their webhooks
GITHUB_TOKEN = os.environ.get("FORGELINE_LOAD_GITHUB_TOKEN", "")  # pull requests: registers them at the stand-in
# Resent after no answer or a 5xx: images (same Idempotency-Key), carts (same event id), webhooks
# (same delivery id); the project's one backoff rule: 1, 2, 4, 8 s.
CLIENT_RETRY = RetryPolicy(max_attempts=5, backoff_initial_s=1.0, backoff_max_s=8.0)
RETRIED = ("images", "carts", "pull_requests")
_write = threading.Lock()
_finished: set[str] = set()  # user classes whose pipeline has sent all its requests


def _record(line: dict[str, Any]) -> None:
    path = PLAN.get("record")
    if path:
        with _write, open(path, "a") as f:
            f.write(json.dumps(line) + "\n")


def _sent_last(user: HttpUser) -> None:
    """A pipeline has sent its last request; after the last pipeline, Locust quits (not waiting out
    -t). Users still inside a request finish it first (--stop-timeout)."""
    _finished.add(type(user).__name__)
    if len(_finished) == len(PLAN.get("rates", {})) and user.environment.runner:
        gevent.spawn_later(0.1, user.environment.runner.quit)


class PipelineUser(HttpUser):
    """Sends one pipeline's requests; subclasses name the pipeline."""

    abstract = True
    pipeline: ClassVar[str] = ""
    counter: ClassVar[itertools.count[int]]
    slots: ClassVar[itertools.count[int]]
    total: ClassVar[int] = 0
    rate: ClassVar[float] = 0.0

    period: ClassVar[float] = 1.0  # seconds between one user's requests

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {KEY}"
        # Users start one request interval apart and keep their own schedule, so the pipeline
        # sends at its rate from the first second, not in bursts of all its users at once.
        time.sleep(next(self.slots) / self.rate)
        self.due = time.monotonic()

    def wait_time(self) -> float:
        self.due += self.period
        return max(0.0, self.due - time.monotonic())

    @task
    def send(self) -> None:
        index = next(self.counter)
        if index >= self.total:
            raise StopUser  # this pipeline's requests are all sent
        seed, run = int(PLAN.get("seed", 0)), str(PLAN.get("run", ""))
        path, body, headers = request(self.pipeline, index, seed, PLAN.get("shop"), run=run, webhook_secret=WEBHOOK_SECRET)
        at = time.monotonic() - float(PLAN.get("started") or time.monotonic())
        ident = None
        if self.pipeline == "pull_requests":
            ident = self._open_pull(index, seed, run)
        attempts = 0
        while True:
            attempts += 1
            began = time.monotonic()
            sent = {"data": body} if isinstance(body, bytes) else {"json": body}
            with self.client.post(path, **sent, headers=headers, name=self.pipeline, catch_response=True) as response:
                status = int(response.status_code or 0)
                if status != 202:
                    response.failure(f"{status}: {(response.text or '')[:200]}")
            retry = self.pipeline in RETRIED and (status == 0 or status >= 500) and attempts < CLIENT_RETRY.max_attempts
            if not retry:
                break
            time.sleep(CLIENT_RETRY.backoff_s(attempts))  # gevent-patched: only this user waits
        if index == self.total - 1:
            _sent_last(self)
        if status == 202 and ID_FIELD[self.pipeline]:
            ident = response.json().get(ID_FIELD[self.pipeline])
        elif status != 202:
            ident = None
        _record(
            {
                "pipeline": self.pipeline,
                "at_s": round(at, 3),
                "status": status,
                "id": str(ident) if ident else None,
                "latency_ms": round((time.monotonic() - began) * 1000, 1),
                "attempts": attempts,
            }
        )

    def _open_pull(self, index: int, seed: int, run: str) -> str:
        """Push the pull request's files to the GitHub stand-in, as a developer would, before GitHub
        sends its webhook."""
        pull = pull_request(index, seed, run)
        url = f"{PLAN['github_url']}/_standin/repos/{pull.repo}/pulls/{pull.number}"
        answer = self.client.put(
            url, json={"head_sha": pull.head_sha, "files": pull.files}, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"},
            name="github stand-in: open pull request",
        )  # fmt: skip
        answer.raise_for_status()
        return pull.name


def _user_class(pipeline: str) -> type[PipelineUser]:
    rate = float(PLAN.get("rates", {}).get(pipeline, 0.0))
    users = users_for(rate) if rate else 0
    attributes = {
        "pipeline": pipeline,
        "counter": itertools.count(),
        "slots": itertools.count(),
        "rate": rate or 1.0,
        "total": int(float(PLAN.get("duration_s", 0)) * rate),
        "fixed_count": users,
        "period": users / rate if rate else 1.0,
        "__module__": __name__,
    }
    return type(USER_CLASSES[pipeline], (PipelineUser,), attributes)


# One class per pipeline, named as USER_CLASSES says (Locust finds them among the module's globals).
globals().update({USER_CLASSES[name]: _user_class(name) for name in USER_CLASSES})
