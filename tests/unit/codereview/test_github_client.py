"""The GitHub client against the stand-in's routes (in process, over httpx's ASGI transport)."""

import httpx
import pytest

from forgeline.standins.github import StandInState, create_app, rate_limited, server_error
from services.codereview.diff import added_lines
from services.codereview.github import GitHubClient, GitHubError, RateLimitedError, ReviewComment

pytestmark = pytest.mark.unit

REPO, SHA = "acme/shop", "a" * 40


def setup(files: int = 3) -> tuple[StandInState, list[float]]:
    state = StandInState(token="t0ken")
    state.add_pull(
        REPO,
        7,
        SHA,
        {
            f"pkg/mod{i}.py": ("def f():\n    return 1\n", "def f():\n    return 2\n\n\ndef g():\n    pass\n")
            for i in range(files)
        },
    )
    return state, []


def client_for(
    state: StandInState, waits: list[float], token: str = "t0ken", **options: float
) -> tuple[httpx.AsyncClient, GitHubClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url="http://gh")

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    return http, GitHubClient(http, "http://gh", token, wait=wait, **options)


async def test_pull_files_follow_pagination_and_patches_map_to_new_lines() -> None:
    state, waits = setup(files=230)
    http, github = client_for(state, waits)
    async with http:
        files = await github.pull_files(REPO, 7)
    assert len(files) == 230 and state.requests.count("GET /repos/acme/shop/pulls/7/files") == 3
    assert files[0].patch is not None and added_lines(files[0].patch) == {2, 3, 4, 5, 6}


async def test_file_text_decodes_base64_and_missing_files_are_none() -> None:
    state, waits = setup()
    http, github = client_for(state, waits)
    async with http:
        assert (await github.file_text(REPO, "pkg/mod0.py", SHA) or "").startswith("def f():")
        assert await github.file_text(REPO, "nope.py", SHA) is None


async def test_rate_limits_and_server_errors_are_waited_out_then_given_up() -> None:
    state, waits = setup()
    http, github = client_for(state, waits, max_attempts=3)
    async with http:
        state.fail_next(rate_limited(2), server_error(502))
        assert len(await github.pull_files(REPO, 7)) == 3
        assert waits == [2.0, 2.0]  # Retry-After honoured, then backoff after the 502
        state.fail_next(server_error(), server_error(), server_error())
        with pytest.raises(GitHubError, match="gave up after 3 attempts"):
            await github.pull_files(REPO, 7)
        state.fail_next(rate_limited(3600))
        with pytest.raises(RateLimitedError):
            await github.pull_files(REPO, 7)


async def test_bad_credentials_are_not_retried() -> None:
    state, waits = setup()
    http, github = client_for(state, waits, token="wrong")
    async with http:
        with pytest.raises(GitHubError) as refused:
            await github.pull_files(REPO, 7)
    assert refused.value.status == 401 and waits == []


async def test_reviews_are_posted_with_inline_comments_and_listed() -> None:
    state, waits = setup()
    http, github = client_for(state, waits)
    async with http:
        review_id = await github.post_review(
            REPO, 7, SHA, "REQUEST_CHANGES", "1 critical", [ReviewComment(path="pkg/mod0.py", line=2, body="no")]
        )
        [posted] = await github.reviews(REPO, 7)
    assert posted["id"] == review_id and posted["commit_id"] == SHA and posted["comments"][0]["side"] == "RIGHT"
