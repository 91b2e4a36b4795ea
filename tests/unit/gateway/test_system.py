import httpx
import pytest

from services.gateway.system import RecentErrors, parts_health

pytestmark = pytest.mark.unit


def answering(request: httpx.Request) -> httpx.Response:
    if request.url.host == "ready":
        return httpx.Response(200, json={"ready": True, "checks": {"kafka": "ok"}})
    if request.url.host == "degraded":
        return httpx.Response(503, json={"ready": False, "checks": {"kafka": "ok", "postgres": "TimeoutError: "}})
    if request.url.host == "serve":
        return httpx.Response(200, text="success")  # a Serve application's /healthz answers plain text
    raise httpx.ConnectError("connection refused", request=request)


async def test_each_part_reads_as_its_readyz_says_and_one_not_answering_says_why() -> None:
    parts = {name: f"http://{name}/readyz" for name in ("ready", "degraded", "serve", "gone")}
    async with httpx.AsyncClient(transport=httpx.MockTransport(answering)) as http:
        health = {p.name: p for p in await parts_health(http, parts)}
    assert health["ready"].ready and health["ready"].checks == {"kafka": "ok"}
    assert not health["degraded"].ready and health["degraded"].checks["postgres"].startswith("TimeoutError")
    assert health["degraded"].detail == "answered 503"
    assert health["serve"].ready and health["serve"].checks == {}
    assert not health["gone"].ready and "connection refused" in (health["gone"].detail or "")


def test_recent_errors_keep_the_latest_first_and_only_so_many() -> None:
    errors = RecentErrors(keep=2)
    for status in (500, 502, 503):
        errors.record("GET", "/v1/images/{job_id}", status)
    assert [e.status for e in errors.latest()] == [503, 502]
