"""The Helm chart, rendered by the real Helm engine (helm-python-sdk), checked against the
Kubernetes schemas, the official CRD schemas in ../shared/crds and the code it deploys."""

from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml

from forgeline.stack import Stack
from services.common.settings import Settings
from services.common.topics import ALL_TOPICS

pytestmark = pytest.mark.contract

CHART = Path(__file__).resolve().parents[3] / "charts" / "forgeline"
CRDS = Path(__file__).resolve().parents[4] / "shared" / "crds"
KUBE_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
BUILT_IN = {"ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}
CUSTOM = {("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_scaledobjects.yaml"}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    rendered = helm_python.Chart.load(CHART).render(name="forgeline", namespace="forgeline", is_install=True)
    return [
        doc for path, text in rendered.items() if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc
    ]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_the_chart_lints_clean_in_strict_mode() -> None:
    report = helm_python.lint(CHART, strict=True, kube_version="v1.30.0")
    assert report["errors"] == [] and not [m for m in report["messages"] if m["severity"] >= 2], report


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_built_in_objects_validate_strictly(objects: list[dict[str, Any]], version: str) -> None:
    kinds = {o["kind"] for o in objects}
    assert kinds <= BUILT_IN | {kind for _, kind in CUSTOM}, f"unknown kinds: {kinds - BUILT_IN}"
    for obj in objects:
        if obj["kind"] in BUILT_IN:
            kubernetes_validate.validate(obj, version, strict=True)


def test_custom_resources_validate_against_the_official_crds(objects: list[dict[str, Any]]) -> None:
    if not CRDS.exists():
        pytest.skip(f"the official CRD schemas are absent ({CRDS})")
    checked = 0
    for obj in objects:
        crd_file = CUSTOM.get((obj["apiVersion"], obj["kind"]))
        if obj["kind"] in BUILT_IN:
            continue
        assert crd_file, f"no CRD schema known for {obj['apiVersion']} {obj['kind']}"
        crd = yaml.safe_load((CRDS / crd_file).read_text())
        version = obj["apiVersion"].split("/")[1]
        [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
        jsonschema.validate(obj, served["schema"]["openAPIV3Schema"])
        checked += 1
    assert checked > 0


def test_every_service_of_the_local_stack_has_a_hardened_deployment(objects: list[dict[str, Any]]) -> None:
    deployments = by_kind(objects, "Deployment")
    assert {f"forgeline-{name}" for name in Stack.SERVICES} == set(deployments)
    settings = set(Settings.model_fields)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        for env in container["env"]:
            assert env["name"].lower() in settings, f"{name}: {env['name']} is not a setting"


def test_config_keys_are_settings_and_secrets_stay_out_of_config_maps(objects: list[dict[str, Any]]) -> None:
    [config] = by_kind(objects, "ConfigMap").values()
    settings = set(Settings.model_fields)
    for key in config["data"]:
        assert key.lower() in settings, f"{key} is not a setting services read"
        assert not any(word in key for word in ("PASSWORD", "SECRET", "TOKEN", "DATABASE_URL")), key


def test_every_consumed_topic_is_scaled_by_keda_on_its_consumer_group(objects: list[dict[str, Any]]) -> None:
    scaled = by_kind(objects, "ScaledObject")
    deployments = by_kind(objects, "Deployment")
    triggered: set[str] = set()
    for name, obj in scaled.items():
        assert obj["spec"]["scaleTargetRef"]["name"] in deployments, name
        assert obj["spec"]["maxReplicaCount"] <= 3, f"{name}: more replicas than partitions"
        for trigger in obj["spec"]["triggers"]:
            assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"], name
            triggered.add(trigger["metadata"]["topic"])
    consumed = {spec.name for spec in ALL_TOPICS if spec.consumed}
    assert consumed <= triggered, f"consumed topics nobody scales on: {consumed - triggered}"
