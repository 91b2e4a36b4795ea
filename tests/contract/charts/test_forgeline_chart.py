"""The Helm chart, rendered by the real Helm engine (helm-python-sdk) for its three profiles
(default, kind, EKS), checked against the Kubernetes schemas, the official CRD schemas in
../shared/crds and the code it deploys."""

import ast
import functools
import importlib
import json
import pkgutil
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml

import services
from forgeline.stack import Stack
from services.common import http, service
from services.common.settings import Settings, get_settings, variables
from services.common.topics import ALL_TOPICS, CONSUMER_GROUPS, all_topic_names

pytestmark = pytest.mark.contract

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "forgeline"
CRDS = REPO.parent / "shared" / "crds"
PROFILES = {"default": "values.yaml", "kind": "values-kind.yaml", "eks": "values-eks.yaml", "podman": "values-podman.yaml"}
KUBE_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
BUILT_IN = {
    "ConfigMap",
    "Deployment",
    "Ingress",
    "Job",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
}
CUSTOM = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_scaledobjects.yaml",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh_triggerauthentications.yaml",
    ("kafka.strimzi.io/v1", "Kafka"): "kafka.strimzi.io_kafkas.yaml",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "kafka.strimzi.io_kafkanodepools.yaml",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafka.strimzi.io_kafkatopics.yaml",
    ("ray.io/v1", "RayService"): "ray.io_rayservices.yaml",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_servicemonitors.yaml",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com_prometheusrules.yaml",
    ("karpenter.sh/v1", "NodePool"): "karpenter.sh_nodepools.yaml",
    ("karpenter.k8s.aws/v1", "EC2NodeClass"): "karpenter.k8s.aws_ec2nodeclasses.yaml",
}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "DATABASE_URL", "API_KEY")


def values_of(profile: str) -> dict[str, Any]:
    """The profile's values file as Helm reads it (merged over the chart's defaults)."""
    loaded: dict[str, Any] = yaml.safe_load((CHART / PROFILES[profile]).read_text())
    return loaded


def render(profile: str, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object the chart renders for a profile (plus overrides), as `helm install` would."""
    values = values_of(profile)
    for key, value in (overrides or {}).items():
        values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
    output = helm_python.Chart.load(CHART).render(values, name="forgeline", namespace="forgeline", is_install=True)
    return [doc for path, text in output.items() if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module", params=list(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@functools.cache
def rendered(profile: str) -> list[dict[str, Any]]:
    """`render(profile)`, once per session: tests only read the objects."""
    return render(profile)


@pytest.fixture
def objects(profile: str) -> list[dict[str, Any]]:
    return rendered(profile)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_the_chart_lints_clean_in_strict_mode(profile: str) -> None:
    report = helm_python.lint(CHART, values_of(profile), strict=True, kube_version="v1.30.0")
    assert report["errors"] == [] and not [m for m in report["messages"] if m["severity"] >= 2], report


def test_declared_dependencies_are_vendored_so_none_is_silently_skipped() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for dependency in chart.get("dependencies", []):
        assert list((CHART / "charts").glob(f"{dependency['name']}-*.tgz")), f"missing dependency {dependency['name']}"


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_built_in_objects_validate_strictly(objects: list[dict[str, Any]], version: str) -> None:
    unknown = {(o["apiVersion"], o["kind"]) for o in objects if o["kind"] not in BUILT_IN} - set(CUSTOM)
    assert not unknown, f"kinds with neither a Kubernetes nor a CRD schema: {unknown}"
    for obj in objects:
        if obj["kind"] in BUILT_IN:
            kubernetes_validate.validate(obj, version, strict=True)


def validate_custom_resource(obj: dict[str, Any]) -> None:
    """Against the official CRD's schema for the object's served version."""
    crd = yaml.safe_load((CRDS / CUSTOM[(obj["apiVersion"], obj["kind"])]).read_text())
    version = obj["apiVersion"].split("/")[1]
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served", True)]
    schema = served["schema"]["openAPIV3Schema"]
    # Not jsonschema.validate: it checks the schema itself first, and the PrometheusRule CRD
    # holds a Go regex (`(?i)` mid-pattern) that Python's re rejects, on a field we never set.
    jsonschema.validators.validator_for(schema)(schema).validate(obj)


def test_custom_resources_validate_against_the_official_crds(profile: str, objects: list[dict[str, Any]]) -> None:
    if profile == "podman":
        pytest.skip("the podman profile renders no custom resources (no operators)")
    if not CRDS.exists():
        pytest.skip(f"the official CRD schemas are absent ({CRDS}); they come with the workspace's shared/ folder")
    checked = 0
    for obj in objects:
        if obj["kind"] in BUILT_IN:
            continue
        validate_custom_resource(obj)
        checked += 1
    assert checked > 0


def test_every_service_of_the_local_stack_has_a_hardened_deployment(objects: list[dict[str, Any]]) -> None:
    deployments = by_kind(objects, "Deployment")
    names = {f"forgeline-{name}" for name in Stack.SERVICES}
    assert names <= set(deployments), f"services without a Deployment: {names - set(deployments)}"
    settings = variables()
    for name in names:
        pod = deployments[name]["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert len(pod["topologySpreadConstraints"]) == 2, name
        for env in container["env"]:
            assert env["name"] in settings, f"{name}: {env['name']} is not a setting"
        [init] = pod["initContainers"]
        assert init["args"][:4] == ["-m", "forgeline", "prepare", "--check"], name
    assert set(by_kind(objects, "PodDisruptionBudget")) == names


def test_every_workload_runs_hardened(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False, obj["metadata"]["name"]
        for container in pod["containers"] + pod.get("initContainers", []):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"], f"{obj['metadata']['name']}/{container['name']}"
            assert "limits" in container["resources"], f"{obj['metadata']['name']}/{container['name']}"


def test_config_keys_are_settings_and_secrets_stay_out_of_config_maps(objects: list[dict[str, Any]]) -> None:
    settings = variables()
    config = by_kind(objects, "ConfigMap")["forgeline-config"]
    for key in config["data"]:
        assert key in settings, f"{key} is not a setting services read"
        assert not any(word in key for word in SECRET_WORDS), f"{key} looks secret: it belongs in a Secret"
    app_secret = by_kind(objects, "Secret").get("forgeline-secrets")
    if app_secret:
        for key in app_secret["stringData"]:
            assert key in settings, f"Secret key {key} is not a setting services read"


def test_kind_keeps_everything_in_cluster_and_eks_points_at_managed_services() -> None:
    kind = rendered("kind")
    assert {"forgeline-postgres", "forgeline-minio", "forgeline-temporal"} <= set(by_kind(kind, "StatefulSet"))
    assert {"forgeline-redis", "forgeline-otel-collector", "forgeline-jaeger"} <= set(by_kind(kind, "Deployment"))
    assert by_kind(kind, "Kafka") and by_kind(kind, "KafkaNodePool")
    [job] = by_kind(kind, "Job").values()
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {}), "kind's prepare Job cannot be a pre-install hook"
    ray = next(iter(by_kind(kind, "RayService").values()))["spec"]["rayClusterConfig"]
    for group in ray["workerGroupSpecs"]:
        [container] = group["template"]["spec"]["containers"]
        assert "nvidia.com/gpu" not in container["resources"]["limits"], "the kind profile is CPU only"

    eks = rendered("eks")
    assert not by_kind(eks, "StatefulSet") and not by_kind(eks, "Kafka"), "EKS uses managed backing services"
    [job] = by_kind(eks, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    accounts = by_kind(eks, "ServiceAccount")
    assert accounts["forgeline-gateway"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("forgeline-gateway")
    plain = render("eks", {"config": {**values_of("eks")["config"], "kafka_security": "plaintext"}})
    echo = by_kind(plain, "ServiceAccount")["forgeline-echo"]["metadata"]
    assert "annotations" not in echo, "without MSK IAM only services that need AWS get a role"
    gpu = next(iter(by_kind(eks, "RayService").values()))["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert gpu["template"]["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert by_kind(eks, "NodePool")["gpu"]["spec"]["template"]["spec"]["taints"][0]["key"] == "nvidia.com/gpu"


def test_msk_iam_gives_every_service_a_role_and_keda_the_workloads_identity() -> None:
    eks = rendered("eks")
    config = by_kind(eks, "ConfigMap")["forgeline-config"]["data"]
    assert config["KAFKA_SECURITY"] == "msk-iam" and config["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9098")
    for name, account in by_kind(eks, "ServiceAccount").items():
        assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(name), name
    [job] = by_kind(eks, "Job").values()  # creates the topics: it needs a role too, before it runs
    prepare = by_kind(eks, "ServiceAccount")[job["spec"]["template"]["spec"]["serviceAccountName"]]
    assert int(prepare["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    [auth] = by_kind(eks, "TriggerAuthentication").values()
    assert auth["spec"]["podIdentity"] == {"provider": "aws", "identityOwner": "workload"}
    for scaled in by_kind(eks, "ScaledObject").values():
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
            assert (trigger["metadata"]["sasl"], trigger["metadata"]["tls"]) == ("aws_msk_iam", "enable")
    assert not by_kind(rendered("kind"), "TriggerAuthentication"), "Strimzi on kind is plaintext"


def test_a_pre_install_hook_without_an_existing_secret_is_refused() -> None:
    with pytest.raises(Exception, match=r"prepare\.asHook needs secrets\.existingSecret"):
        render("kind", {"prepare": {"asHook": True}})


def test_more_consumers_than_partitions_is_refused_unless_allowed() -> None:
    with pytest.raises(Exception, match="exceeds its topics' 3 partitions"):
        render("default", {"keda": {"maxReplicas": 5}})
    assert render("default", {"keda": {"maxReplicas": 5, "allowMoreThanPartitions": True}})


def test_every_topic_has_a_kafka_topic_with_the_partitions_the_code_expects() -> None:
    topics = {o["spec"]["topicName"]: o["spec"]["partitions"] for o in rendered("kind") if o["kind"] == "KafkaTopic"}
    assert topics == all_topic_names()
    declared = values_of("default")["topics"]
    assert {spec.name: (spec.partitions, spec.consumed) for spec in ALL_TOPICS} == {
        name: (spec["partitions"], spec.get("consumed", False)) for name, spec in declared.items()
    }


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Run entry points as the pods would (the chart's config as environment) without serving:
    record what each registers with `consume`."""
    seen: list[tuple[str, str]] = []
    for key, value in by_kind(rendered("default"), "ConfigMap")["forgeline-config"]["data"].items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    monkeypatch.setattr(http, "serve", lambda app, port: None)
    # Every consumer subscribes through the one service shell.
    monkeypatch.setattr(service, "consume", lambda broker, spec, group, *a, **k: seen.append((spec.name, group)))
    yield seen
    get_settings.cache_clear()


def test_every_consumer_is_scaled_by_keda_on_the_topics_and_group_its_code_consumes(
    registrations: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered("default")
    scaled = by_kind(objects, "ScaledObject")
    for name, svc in values_of("default")["services"].items():
        module, *args = svc["args"][1:]
        if not module.startswith("services."):
            assert "consumer" not in svc, f"{name} consumes nothing from Kafka"
            continue
        registrations.clear()
        monkeypatch.setattr(sys, "argv", [module, *args])
        runpy.run_module(module, run_name="__main__")
        consumed = {(topic, group) for topic, group in registrations}
        triggers = scaled.get(f"forgeline-{name}", {}).get("spec", {}).get("triggers", [])
        scaled_on = {(t["metadata"]["topic"], t["metadata"]["consumerGroup"]) for t in triggers}
        assert consumed == scaled_on, f"{name}: the code consumes {consumed}, KEDA scales on {scaled_on}"
        registered = {(t.name, g.name) for g in CONSUMER_GROUPS if g.service == name for t in g.topics}
        assert consumed == registered, f"{name}: the code consumes {consumed}, CONSUMER_GROUPS says {registered}"
        for trigger in triggers:
            assert int(trigger["metadata"]["lagThreshold"]) > int(trigger["metadata"]["activationLagThreshold"]) > 0
        if triggers:
            assert scaled[f"forgeline-{name}"]["spec"]["fallback"]["replicas"] >= 1


def test_the_gateway_reads_every_part_readiness_where_its_service_answers() -> None:
    objects = rendered("default")
    parts = json.loads(by_kind(objects, "ConfigMap")["forgeline-config"]["data"]["GATEWAY_PARTS"])
    services = by_kind(objects, "Service")
    values = values_of("default")
    apps = {f"{app}-serve" for app in values["ray"]["applications"]}  # named as the local stack names them
    assert set(parts) == set(values["services"]) | apps
    for name in values["services"]:
        host = urlsplit(parts[name]).hostname
        assert parts[name].endswith("/readyz") and host in services, f"{name}: {parts[name]} is no Service of the chart"
    # The gateway may reach the services' port (the network policy lets only Prometheus in otherwise).
    [rule] = by_kind(objects, "NetworkPolicy")["forgeline-metrics-ingress"]["spec"]["ingress"]
    assert {
        "podSelector": {"matchLabels": {"app.kubernetes.io/instance": "forgeline", "app.kubernetes.io/component": "gateway"}}
    } in rule["from"]


def test_every_serve_application_has_a_ray_service_entry() -> None:
    [ray_service] = by_kind(rendered("default"), "RayService").values()
    config = yaml.safe_load(ray_service["spec"]["serveConfigV2"])
    from ray.serve.schema import ServeDeploySchema

    ServeDeploySchema.model_validate(config)  # what Serve itself accepts as a config file
    apps = {app["name"]: app for app in config["applications"]}
    found = set()
    for info in pkgutil.walk_packages(services.__path__, "services."):
        if not info.name.endswith(".serve_app"):
            continue
        module = importlib.import_module(info.name)
        found.add(module.APP_NAME)
        app = apps.get(module.APP_NAME)
        assert app, f"{info.name} ({module.APP_NAME}) has no RayService application"
        assert app["import_path"] == f"{info.name}:app_builder" and callable(module.app_builder)
        assert app["route_prefix"] == module.ROUTE_PREFIX
        for deployment in app.get("deployments", []):
            assert hasattr(module, deployment["name"]), f"{module.APP_NAME}: no deployment {deployment['name']}"
            assert deployment["autoscaling_config"]["max_replicas"] >= deployment["autoscaling_config"]["min_replicas"]
    assert found == set(apps), f"RayService applications without code: {set(apps) - found}"


def test_every_ray_pod_finds_the_models_where_the_serve_applications_load_them(
    profile: str, objects: list[dict[str, Any]]
) -> None:
    if profile == "podman":
        pytest.skip("the podman profile has no KubeRay: the Ray head runs in the backing pod")
    [ray_service] = by_kind(objects, "RayService").values()
    cluster = ray_service["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]
    for pod in pods:
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"] + pod.get("initContainers", []):
            env = {e["name"]: e["value"] for e in container.get("env", [])}
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            settings = Settings().replace(
                imagegen={"model_path": Path(env["IMAGEGEN_MODEL_PATH"])},
                moderation={"model_path": Path(env["MODERATION_MODEL_PATH"])},
            )
            assert settings.image_model_dir.is_relative_to(mounts["models"]), container["name"]
            assert settings.moderation_model_dir.is_relative_to(mounts["models"]), container["name"]
        assert "models" in volumes
        [init] = pod["initContainers"]  # writes the tiny image model where the volume holds none
        assert (
            "forgeline models tiny-sd" in init["command"][-1] and "$IMAGEGEN_MODEL_PATH/model_index.json" in init["command"][-1]
        )
    claimed = render("default", {"ray": {**values_of("default")["ray"], "models": {"claimName": "weights"}}})
    [ray_service] = by_kind(claimed, "RayService").values()
    head = ray_service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "weights"}} in head["volumes"]


def test_services_told_to_use_the_openai_backend_reach_the_llm_application(objects: list[dict[str, Any]]) -> None:
    config = by_kind(objects, "ConfigMap")["forgeline-config"]["data"]
    if config["LLM_BACKEND"] != "openai":
        return
    [ray_service] = by_kind(objects, "RayService").values()
    apps = {app["name"]: app for app in yaml.safe_load(ray_service["spec"]["serveConfigV2"])["applications"]}
    from services.llm.serve_app import APP_NAME

    assert config["LLM_BASE_URL"] == f"{config['SERVE_URL']}{apps[APP_NAME]['route_prefix']}/v1"


def test_values_follow_the_schema_and_the_schema_catches_typos() -> None:
    with pytest.raises(Exception, match=r"(?i)schema|additional"):
        helm_python.Chart.load(CHART).render({"kedaa": {"enabled": True}}, name="forgeline", namespace="forgeline")


def pydantic_fields(module: str, cls: str) -> set[str]:
    """The fields a Ray pydantic model declares, read from its source: Ray Serve LLM's config
    models import vLLM, which cannot be installed here."""
    import ray

    source = Path(ray.__file__).parent.joinpath(*module.split("/")).read_text()
    [node] = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == cls]
    return {n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}


def test_the_vllm_engine_renders_ray_serve_llm_behind_the_same_route() -> None:
    builtin = render("eks")
    vllm = render("eks", {"ray": {**values_of("eks").get("ray", {}), "llm": {"engine": "vllm"}}})
    [ray_service] = by_kind(vllm, "RayService").values()
    if CRDS.exists():
        validate_custom_resource(ray_service)
    from ray.serve.schema import ServeDeploySchema

    config = yaml.safe_load(ray_service["spec"]["serveConfigV2"])
    ServeDeploySchema.model_validate(config)
    apps = {app["name"]: app for app in config["applications"]}
    [before] = [
        a
        for a in yaml.safe_load(by_kind(builtin, "RayService")["forgeline-serve"]["spec"]["serveConfigV2"])["applications"]
        if a["name"] == "llm"
    ]
    llm = apps["llm"]
    assert llm["import_path"] == "ray.serve.llm:build_openai_app" and llm["route_prefix"] == before["route_prefix"]
    [llm_config] = llm["args"]["llm_configs"]
    module = "llm/_internal/serve/core/configs/llm_config.py"
    assert set(llm_config) <= pydantic_fields(module, "LLMConfig")
    assert set(llm_config["model_loading_config"]) <= pydantic_fields(module, "ModelLoadingConfig")
    from ray.serve.config import AutoscalingConfig

    AutoscalingConfig.model_validate(llm_config["deployment_config"]["autoscaling_config"])
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["ray"]["llm"]["vllm"]
    config_map = by_kind(vllm, "ConfigMap")["forgeline-config"]["data"]
    assert config_map["LLM_MODEL"] == llm_config["model_loading_config"]["model_id"] == defaults["modelId"]
    assert config_map["LLM_BASE_URL"].endswith(f"{before['route_prefix']}/v1")  # the services' URL is unchanged
    cluster = ray_service["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]
    image = f"{defaults['image']['repository']}:{defaults['image']['tag']}"
    assert {c["image"] for pod in pods for c in pod["containers"] + pod.get("initContainers", [])} == {image}
    assert "LLM_MODEL" not in by_kind(builtin, "ConfigMap")["forgeline-config"]["data"]
    with pytest.raises(Exception, match=r"(?i)schema|enum|engine"):
        render("eks", {"ray": {**values_of("eks").get("ray", {}), "llm": {"engine": "sglang"}}})
