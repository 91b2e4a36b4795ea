"""The GitHub REST API, as the review pipeline uses it, at `GITHUB_API_URL` with `GITHUB_TOKEN`.

* `GET /repos/{owner}/{repo}/pulls/{number}/files` (paginated: `Link: <...>; rel="next"`);
* `GET /repos/{owner}/{repo}/contents/{path}?ref={sha}` (base64 file text);
* `GET /repos/{owner}/{repo}/compare/{base}...{head}` (what a later push changed);
* `GET|POST /repos/{owner}/{repo}/pulls/{number}/reviews`.

Rate limits are honoured: a 403/429 with `Retry-After`, or with `X-RateLimit-Remaining: 0`
and `X-RateLimit-Reset`, waits that long (up to `max_wait_s`, else `RateLimitedError`); 5xx and
transport errors are retried with exponential backoff, then `GitHubError`. Any other 4xx is
`GitHubError` at once (retrying cannot fix it).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from services.common.retry import PermanentError, RetryPolicy

_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
ReviewEvent = Literal["COMMENT", "REQUEST_CHANGES", "APPROVE"]


class GitHubError(Exception):
    """GitHub refused or kept failing a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub {status}: {message}")
        self.status = status


class RateLimitedError(GitHubError):
    """Rate-limited for longer than the client is willing to wait."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(403, f"rate limited for another {wait_s:.0f}s")
        self.wait_s = wait_s


class PullFile(BaseModel):
    """One changed file of a pull request (GitHub's fields, those the review reads)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    filename: str
    status: str
    additions: int = 0
    deletions: int = 0
    changes: int = 0
    patch: str | None = None  # absent for binary or very large diffs
    previous_filename: str | None = None


class ReviewComment(BaseModel):
    """An inline comment on a line of the new file."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int
    side: Literal["RIGHT"] = "RIGHT"
    body: str


class GitHubClient:
    """Thin async client over an `httpx.AsyncClient` (passed in)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: str,
        wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_attempts: int = 5,
        max_wait_s: float = 60.0,
        backoff_initial_s: float = 1.0,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "forgeline-codereview",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        }
        self._wait = wait
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self._backoff = RetryPolicy(max_attempts=max_attempts, backoff_initial_s=backoff_initial_s, backoff_max_s=max_wait_s)

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if url.startswith("/"):
            url = self._base + url
        problem = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._http.request(method, url, headers=self._headers, **kwargs)
            except httpx.TransportError as error:
                problem = type(error).__name__
                await self._wait(self._backoff.backoff_s(attempt))
                continue
            delay = _rate_limit_wait(response)
            if delay is not None:
                if delay > self._max_wait_s:
                    raise RateLimitedError(delay)
                problem = "rate limited"
                await self._wait(delay)
                continue
            if response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                await self._wait(self._backoff.backoff_s(attempt))
                continue
            if response.status_code >= 400:
                raise GitHubError(response.status_code, _message(response))
            return response
        raise GitHubError(503, f"gave up after {self._max_attempts} attempts ({problem})")

    async def pull_files(self, repo: str, number: int) -> list[PullFile]:
        """Every changed file, following pagination."""
        files: list[PullFile] = []
        url: str | None = f"/repos/{repo}/pulls/{number}/files?per_page=100"
        while url:
            response = await self._request("GET", url)
            files.extend(PullFile.model_validate(f) for f in response.json())
            match = _NEXT.search(response.headers.get("link", ""))
            url = match.group(1) if match else None
        return files

    async def compare_files(self, repo: str, base: str, head: str) -> list[PullFile]:
        """The files that differ between two commits (`GET /compare/{base}...{head}`)."""
        response = await self._request("GET", f"/repos/{repo}/compare/{base}...{head}")
        return [PullFile.model_validate(f) for f in response.json().get("files", [])]

    async def file_text(self, repo: str, path: str, ref: str) -> str | None:
        """A file's text at `ref`; None where it does not exist there (deleted, or binary)."""
        try:
            response = await self._request("GET", f"/repos/{repo}/contents/{path}", params={"ref": ref})
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        body = response.json()
        if not isinstance(body, dict) or body.get("encoding") != "base64":
            return None
        try:
            return base64.b64decode(body.get("content", "")).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None

    async def reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The reviews already on the pull request (the publisher checks for its own)."""
        response = await self._request("GET", f"/repos/{repo}/pulls/{number}/reviews", params={"per_page": 100})
        reviews: list[dict[str, Any]] = response.json()
        return reviews

    async def post_review(
        self, repo: str, number: int, commit_id: str, event: ReviewEvent, body: str, comments: list[ReviewComment]
    ) -> int:
        """Post one review with its inline comments; its id."""
        payload = {"commit_id": commit_id, "event": event, "body": body, "comments": [c.model_dump() for c in comments]}
        try:
            response = await self._request("POST", f"/repos/{repo}/pulls/{number}/reviews", json=payload)
        except GitHubError as error:
            if error.status == 422:  # e.g. a comment on a line outside the diff: our bug, not GitHub's
                raise PermanentError(str(error)) from error
            raise
        return int(response.json()["id"])


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when the response is a rate limit, else None."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            return 60.0
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = float(response.headers.get("x-ratelimit-reset", time.time() + 60))
        return max(reset - time.time(), 0.0) + 1.0
    return None  # a plain 403: permissions


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))[:300]
    except ValueError:
        return response.text[:300]
