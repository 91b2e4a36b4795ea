"""The GitHub client over real HTTP against the stand-in server (as it would talk to GitHub)."""

from collections.abc import Iterator

import httpx
import pytest

from forgeline.standins.github import GitHubStandIn, server_error
from services.codereview.github import GitHubClient, ReviewComment

pytestmark = pytest.mark.integration

REPO, SHA = "acme/shop", "b" * 40


@pytest.fixture(scope="module")
def standin() -> Iterator[GitHubStandIn]:
    server = GitHubStandIn(token="it-token")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_files_contents_and_a_review_over_http(standin: GitHubStandIn) -> None:
    standin.state.add_pull(REPO, 3, SHA, {"svc/db.py": (None, 'def q(name):\n    return f"SELECT * FROM t WHERE n = {name}"\n')})
    standin.state.fail_next(server_error(503))
    async with httpx.AsyncClient(timeout=10) as http:
        github = GitHubClient(http, standin.base_url, "it-token", max_wait_s=2)
        [changed] = await github.pull_files(REPO, 3)
        assert changed.status == "added" and changed.additions == 2
        assert "SELECT" in (await github.file_text(REPO, "svc/db.py", SHA) or "")
        await github.post_review(
            REPO, 3, SHA, "COMMENT", "summary", [ReviewComment(path="svc/db.py", line=2, body="f-string SQL")]
        )
    [review] = standin.state.reviews[(REPO, 3)]
    assert review["comments"][0]["line"] == 2
    assert standin.state.requests[:2] == ["GET /repos/acme/shop/pulls/3/files"] * 2  # the 503, then the retry
