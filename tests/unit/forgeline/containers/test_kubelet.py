"""The kubelet stand-in's probe rules, as Kubernetes applies them: one pass makes a container
ready, only `failureThreshold` failures in a row make it not ready, and failing liveness that many
times restarts it (readiness never does)."""

from typing import Any

import httpx
import pytest

from forgeline.containers.platform import Kubelet, Probe

pytestmark = pytest.mark.unit


class Restarts:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def run(self, *args: str) -> str:
        self.calls.append(args)
        return ""


def kubelet(answers: dict[str, list[int]]) -> tuple[Kubelet, Restarts, httpx.Client]:
    """A kubelet over one container whose paths answer the given statuses in turn."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers[request.url.path].pop(0))

    podman = Restarts()
    probes = [
        Probe("app", "startup", "/start", 8080, 5, 60),
        Probe("app", "readiness", "/ready", 8080, 5, 3),
        Probe("app", "liveness", "/live", 8080, 10, 3),
    ]
    node: Any = podman  # the kubelet only calls `run("restart", name)`
    return Kubelet(node, probes, lambda _: "10.0.0.2"), podman, httpx.Client(transport=httpx.MockTransport(handler))


def probe(k: Kubelet, http: httpx.Client, kind: str, times: int = 1) -> None:
    for _ in range(times):
        k._probe(http, next(p for p in k.probes if p.kind == kind))


def test_readiness_waits_for_the_startup_probe_and_one_pass_makes_ready() -> None:
    k, _, http = kubelet({"/start": [503, 200], "/ready": [200]})
    probe(k, http, "readiness")  # before startup passed: not probed at all
    assert not k.ready("app")
    probe(k, http, "startup", 2)
    probe(k, http, "readiness")
    assert k.ready("app")
    assert [e["event"] for e in k.events] == ["started", "ready"]


def test_not_ready_only_after_failure_threshold_failures_in_a_row() -> None:
    k, podman, http = kubelet({"/start": [200], "/ready": [200, 503, 503, 200, 503, 503, 503]})
    probe(k, http, "startup")
    probe(k, http, "readiness", 4)  # two failures, then a pass: still ready
    assert k.ready("app")
    probe(k, http, "readiness", 3)
    assert not k.ready("app")
    assert podman.calls == []  # readiness never restarts


def test_liveness_failing_its_threshold_restarts_and_the_container_starts_over() -> None:
    k, podman, http = kubelet({"/start": [200], "/ready": [200], "/live": [200, 500, 500, 500]})
    probe(k, http, "startup")
    probe(k, http, "readiness")
    probe(k, http, "liveness", 3)
    assert podman.calls == [] and k.passes("app", "liveness") == 1
    probe(k, http, "liveness")
    assert podman.calls == [("restart", "app")] and k.restarts() == 1
    assert not k.ready("app")  # until its startup and readiness probes pass again
