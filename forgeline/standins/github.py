"""A local GitHub API stand-in for tests, `forgeline up` (without `GITHUB_TOKEN`) and
`forgeline demo codereview`.

It serves the REST endpoints the review pipeline calls (pull request files, paginated;
file contents, base64; compare; reviews) for pull requests registered in memory, checks the
bearer token, refuses review comments on lines outside the diff with 422 as GitHub does,
records every posted review, and can be told to fail the next requests (5xx, or a rate limit
with `Retry-After`), so the client's retries are exercised over real HTTP.

Tests in-process use `GitHubStandIn(...).state`; a stand-in in its own process
(`python -m forgeline.standins.github --port P`) is driven through its `/_standin/` routes.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from forgeline.stack import STANDIN_TOKEN as DEFAULT_TOKEN
from forgeline.standins.threaded_server import ThreadedServer
from services.codereview.diff import added_lines


def file_entry(path: str, old: str | None, new: str | None) -> dict[str, Any]:
    """GitHub's description of one changed file, with its unified-diff patch."""
    diff = list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=3))[2:]
    added = sum(1 for line in diff if line.startswith("+"))
    removed = sum(1 for line in diff if line.startswith("-"))
    status = "added" if old is None else "removed" if new is None else "modified"
    return {"filename": path, "status": status, "additions": added, "deletions": removed,
            "changes": added + removed, "patch": "\n".join(diff)}  # fmt: skip


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
        """Register a pull request (or its next push): `{path: (base text or None, head text or None)}`."""
        with self.lock:
            for path, (_, new) in files.items():
                if new is not None:
                    self.contents[(repo, path, head_sha)] = new
            self.pulls[(repo, number)] = [file_entry(path, old, new) for path, (old, new) in files.items()]

    def all_reviews(self) -> list[dict[str, Any]]:
        """Every posted review, with `repo` and `number`."""
        with self.lock:
            return [{"repo": r, "number": n, **review} for (r, n), reviews in self.reviews.items() for review in reviews]

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
        if request.url.path == "/healthz":
            return JSONResponse({"status": "ok"})
        api = not request.url.path.startswith("/_standin/")  # queued failures hit the API, not the controls
        with state.lock:
            state.requests.append(f"{request.method} {request.url.path}")
            failure = state.failures.pop(0) if state.failures and api else None
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

    @app.get("/repos/{owner}/{repo}/compare/{basehead}")
    async def compare(owner: str, repo: str, basehead: str) -> Response:
        base, _, head = basehead.partition("...")
        name = f"{owner}/{repo}"
        paths = sorted({p for (r, p, sha) in state.contents if r == name and sha in (base, head)})
        files = []
        for path in paths:
            old, new = state.contents.get((name, path, base)), state.contents.get((name, path, head))
            if old != new:
                files.append(file_entry(path, old, new))
        return JSONResponse({"status": "ahead", "files": files})

    @app.get("/repos/{owner}/{repo}/pulls/{number}/reviews")
    async def list_reviews(owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        return state.reviews.get((f"{owner}/{repo}", number), [])

    @app.post("/repos/{owner}/{repo}/pulls/{number}/reviews")
    async def post_review(owner: str, repo: str, number: int, body: dict[str, Any]) -> Response:
        key = (f"{owner}/{repo}", number)
        if key not in state.pulls:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        commentable = {f["filename"]: added_lines(f["patch"]) for f in state.pulls[key] if f.get("patch")}
        for comment in body.get("comments", []):
            if comment.get("line") not in commentable.get(comment.get("path"), set()):
                message = f"Line could not be resolved: {comment.get('path')}:{comment.get('line')}"
                return JSONResponse({"message": "Unprocessable Entity", "errors": [message]}, status_code=422)
        with state.lock:
            reviews = state.reviews.setdefault(key, [])
            review = {"id": len(reviews) + 1, "submitted_at": time.time(), "user": {"login": "forgeline[bot]"}, **body}
            reviews.append(review)
        return JSONResponse(review, status_code=200)

    @app.put("/_standin/repos/{owner}/{repo}/pulls/{number}")
    async def register_pull(owner: str, repo: str, number: int, pull: RegisteredPull) -> dict[str, int]:
        state.add_pull(f"{owner}/{repo}", number, pull.head_sha, pull.files)
        return {"files": len(pull.files)}

    @app.post("/_standin/failures")
    async def queue_failures(failures: list[QueuedFailure]) -> dict[str, int]:
        state.fail_next(*(rate_limited(f.retry_after_s) if f.status == 403 else server_error(f.status) for f in failures))
        return {"queued": len(failures)}

    @app.delete("/_standin/failures")
    async def clear_failures() -> dict[str, int]:
        with state.lock:
            cleared = len(state.failures)
            state.failures.clear()
        return {"cleared": cleared}

    @app.get("/_standin/reviews")
    async def recorded_reviews() -> list[dict[str, Any]]:
        return state.all_reviews()

    return app


class RegisteredPull(BaseModel):
    """`PUT /_standin/repos/{owner}/{repo}/pulls/{number}`: the PR's files at `head_sha`."""

    head_sha: str
    files: dict[str, tuple[str | None, str | None]]


class QueuedFailure(BaseModel):
    """`POST /_standin/failures`: answer a next request with this (403 is a rate limit)."""

    status: int = 502
    retry_after_s: int = 1


class StandInClient:
    """Drives a stand-in in another process through its `/_standin/` routes."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str = DEFAULT_TOKEN) -> None:
        self._http, self._base = http, base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def add_pull(self, repo: str, number: int, head_sha: str, files: dict[str, tuple[str | None, str | None]]) -> None:
        """Register a pull request (or its next push)."""
        response = await self._http.put(
            f"{self._base}/_standin/repos/{repo}/pulls/{number}",
            json={"head_sha": head_sha, "files": files},
            headers=self._headers,
        )
        response.raise_for_status()

    async def fail_next(self, *failures: QueuedFailure) -> None:
        """Answer the next requests with these failures."""
        body = [f.model_dump() for f in failures]
        response = await self._http.post(f"{self._base}/_standin/failures", json=body, headers=self._headers)
        response.raise_for_status()

    async def clear_failures(self) -> int:
        """Drop the failures not answered yet; how many there were."""
        response = await self._http.delete(f"{self._base}/_standin/failures", headers=self._headers)
        response.raise_for_status()
        return int(response.json()["cleared"])

    async def reviews(self, repo: str | None = None, number: int | None = None) -> list[dict[str, Any]]:
        """Posted reviews (of one PR, when given)."""
        response = await self._http.get(f"{self._base}/_standin/reviews", headers=self._headers)
        response.raise_for_status()
        return [r for r in response.json() if repo in (None, r["repo"]) and number in (None, r["number"])]


class GitHubStandIn(ThreadedServer):
    """Runs the stand-in in a thread on a free port of 127.0.0.1."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.state = StandInState(token=token)
        super().__init__(create_app(self.state), "GitHub stand-in")

    @property
    def base_url(self) -> str:
        """What `GITHUB_API_URL` should be."""
        return f"http://127.0.0.1:{self.port}"


def main() -> None:
    """Serve the stand-in in this process (the local stack's `github` component)."""
    import uvicorn

    parser = argparse.ArgumentParser(description="A local GitHub REST API stand-in for the code review pipeline.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bearer token clients must send")
    args = parser.parse_args()
    uvicorn.run(create_app(StandInState(token=args.token)), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
