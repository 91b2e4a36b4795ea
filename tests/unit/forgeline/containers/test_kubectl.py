"""The kubectl stand-in answers k8s/e2e.sh's verbs from the deployment's view, and refuses the
rest by name."""

import json
from pathlib import Path

import pytest

from forgeline.containers.kubectl import VIEW, main, target_of, timeout_s, without_namespace
from forgeline.containers.manifests import Route, service_routes

pytestmark = pytest.mark.unit

VIEW_OF_ONE = {
    "deployments": {"r-api": {"container": "r-api-pod-0-api", "ip": "10.0.0.5", "ready_path": "/readyz", "ready_port": 8080}},
    "services": {"r-api": {"deployment": "r-api", "ports": {"80": 8080}}},
    "rayservices": {"r-serve": {}},
}


def test_a_service_routes_to_the_deployment_its_selector_picks_at_the_named_target_port() -> None:
    container = {"name": "api", "ports": [{"name": "http", "containerPort": 8080}]}
    labels = {"app": "api", "tier": "web"}
    objects = [
        {"kind": "Deployment", "metadata": {"name": "r-api"}, "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}},
        {"kind": "Service", "metadata": {"name": "r-api"}, "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": "http"}, {"port": 9000}]}},
    ]  # fmt: skip
    assert service_routes(objects) == {"r-api": Route("r-api", {80: 8080, 9000: 9000})}


def test_verbs_parse_as_kubectl_takes_them() -> None:
    assert without_namespace(["-n", "ns", "get", "--namespace=ns", "x", "--namespace", "ns"]) == ["get", "x"]
    assert timeout_s(["-l", "a=b", "--timeout=10m"]) == 600
    assert timeout_s(["--timeout=90s"]) == 90
    assert target_of(VIEW_OF_ONE, "svc/r-api", 80) == ("r-api-pod-0-api", "10.0.0.5", 8080)
    assert target_of(VIEW_OF_ONE, "deploy/r-api", 0)[0] == "r-api-pod-0-api"
    with pytest.raises(SystemExit, match='svc "r-nope" not found'):
        target_of(VIEW_OF_ONE, "svc/r-nope", 80)


def test_an_undeployed_application_prints_nothing_and_other_verbs_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (view := tmp_path / "view.json").write_text(json.dumps(VIEW_OF_ONE))
    monkeypatch.setenv(VIEW, str(view))
    path = "jsonpath={.status.activeServiceStatus.applicationStatuses.moderation.status}"
    assert main(["-n", "ns", "get", "rayservice", "r-serve", "-o", path]) == 0
    assert capsys.readouterr().out == ""
    assert main(["get", "rayservice", "other", "-o", path]) == 1
    assert main(["delete", "pod", "x"]) == 2
    assert "not a verb k8s/e2e.sh uses" in capsys.readouterr().err
