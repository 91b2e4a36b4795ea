"""A local GitHub API stand-in for tests and `forgeline demo codereview`.

It serves the REST endpoints the review pipeline calls (pull request files, paginated;
file contents, base64; reviews) for pull requests registered in memory, checks the bearer
token, records every posted review, and can be told to fail the next requests (5xx, or a
rate limit with `Retry-After`), so the client's retries are exercised over real HTTP.
"""

from __future__ import annotations

import base64
import difflib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from forgeline.threaded_server import ThreadedServer


@dataclass
class StandInState:
    """Everything the stand-in knows and has seen."""

    token: str
    pulls: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    contents: dict[tuple[str, str, str], str] = field(default_factory=dict)
    reviews: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[Response] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_pull(self, repo: str, number: int, head_sha: str, files: dict[str, tuple[str | None, str | None]]) -> None:
        """Register a pull request: `{path: (old_text or None, new_text or None)}`."""
        listed = []
        for path, (old, new) in files.items():
            diff = list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=3))[2:]
            added = sum(1 for line in diff if line.startswith("+"))
            removed = sum(1 for line in diff if line.startswith("-"))
            status = "added" if old is None else "removed" if new is None else "modified"
            listed.append(
                {"filename": path, "status": status, "additions": added, "deletions": removed,
                 "changes": added + removed, "patch": "\n".join(diff)}
            )  # fmt: skip
            if new is not None:
                self.contents[(repo, path, head_sha)] = new
        self.pulls[(repo, number)] = listed

    def fail_next(self, *responses: Response) -> None:
        """Answer the next requests with these responses instead."""
        with self.lock:
            self.failures.extend(responses)


def server_error(status: int = 502) -> Response:
    """A 5xx answer for `fail_next`."""
    return JSONResponse({"message": "Server Error"}, status_code=status)


def rate_limited(retry_after_s: int = 1) -> Response:
    """A secondary rate limit answer for `fail_next`."""
    return JSONResponse(
        {"message": "You have exceeded a secondary rate limit."}, status_code=403, headers={"Retry-After": str(retry_after_s)}
    )


def create_app(state: StandInState) -> FastAPI:
    """The stand-in's routes."""
    app = FastAPI(title="GitHub API stand-in")

    @app.middleware("http")
    async def auth_and_faults(request: Request, call_next: Any) -> Response:
        with state.lock:
            state.requests.append(f"{request.method} {request.url.path}")
            failure = state.failures.pop(0) if state.failures else None
        if failure is not None:
            return failure
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        response: Response = await call_next(request)
        return response

    @app.get("/repos/{owner}/{repo}/pulls/{number}/files")
    async def files(owner: str, repo: str, number: int, request: Request, per_page: int = 30, page: int = 1) -> Response:
        listed = state.pulls.get((f"{owner}/{repo}", number))
        if listed is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        chunk = listed[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(listed):
            url = request.url.include_query_params(page=page + 1, per_page=per_page)
            headers["Link"] = f'<{url}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    @app.get("/repos/{owner}/{repo}/contents/{path:path}")
    async def contents(owner: str, repo: str, path: str, ref: str) -> Response:
        text = state.contents.get((f"{owner}/{repo}", path, ref))
        if text is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        encoded = base64.b64encode(text.encode()).decode()
        return JSONResponse({"type": "file", "path": path, "encoding": "base64", "content": encoded})

    @app.get("/repos/{owner}/{repo}/pulls/{number}/reviews")
    async def list_reviews(owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        return state.reviews.get((f"{owner}/{repo}", number), [])

    @app.post("/repos/{owner}/{repo}/pulls/{number}/reviews")
    async def post_review(owner: str, repo: str, number: int, body: dict[str, Any]) -> Response:
        key = (f"{owner}/{repo}", number)
        if key not in state.pulls:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        with state.lock:
            reviews = state.reviews.setdefault(key, [])
            review = {"id": len(reviews) + 1, "submitted_at": time.time(), **body}
            reviews.append(review)
        return JSONResponse(review, status_code=200)

    return app


class GitHubStandIn(ThreadedServer):
    """Runs the stand-in in a thread on a free port of 127.0.0.1."""

    def __init__(self, token: str = "standin-token") -> None:
        self.state = StandInState(token=token)
        super().__init__(create_app(self.state), "GitHub stand-in")

    @property
    def base_url(self) -> str:
        """What `GITHUB_API_URL` should be."""
        return f"http://127.0.0.1:{self.port}"
