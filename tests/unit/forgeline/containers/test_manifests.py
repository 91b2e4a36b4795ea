import base64
import json
from pathlib import Path

import pytest
import yaml

from forgeline.containers.manifests import for_podman, render

pytestmark = pytest.mark.unit


def obj(kind: str, name: str, **rest: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, **rest}


def test_configmaps_play_before_deployments_and_the_rest_is_stood_in_for_with_a_reason() -> None:
    job = obj("Job", "prep", spec={"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "OnFailure"}}})
    sorted_ = for_podman([obj("Deployment", "api"), obj("Service", "api"), obj("ConfigMap", "cfg"), job])
    assert [o["metadata"]["name"] for o in sorted_.played] == ["cfg", "api"]  # type: ignore[index]
    assert sorted_.jobs == [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "prep", "labels": {"a": "b"}},
                             "spec": {"restartPolicy": "OnFailure"}}]  # fmt: skip
    assert [line.split(":")[0] for line in sorted_.stood_in] == ["Service/api", "Job/prep"]


def test_init_containers_become_a_pod_of_their_own_and_each_pod_gets_its_own_empty_dir() -> None:
    pod_spec = {
        "initContainers": [{"name": "wait", "image": "i", "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
        "containers": [{"name": "api", "image": "i", "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        "securityContext": {"runAsNonRoot": True},
    }
    deployment = obj("Deployment", "api", spec={"template": {"spec": pod_spec}})
    manifests = for_podman([deployment])
    [init] = manifests.inits
    mount = {"name": "api-init-tmp", "mountPath": "/tmp"}
    assert init["metadata"]["name"] == "api-init" and init["spec"]["restartPolicy"] == "OnFailure"
    assert init["spec"]["containers"] == [{"name": "wait", "image": "i", "volumeMounts": [mount]}]
    assert init["spec"]["volumes"] == [{"name": "api-init-tmp", "emptyDir": {}}]
    assert init["spec"]["securityContext"] == {"runAsNonRoot": True}
    [played] = manifests.played
    spec = played["spec"]["template"]["spec"]  # type: ignore[index]
    assert "initContainers" not in spec and spec["volumes"] == [{"name": "api-tmp", "emptyDir": {}}]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "api-tmp", "mountPath": "/tmp"}]
    assert [line.split(":")[0] for line in manifests.stood_in] == ["initContainers/api", "emptyDir/api-tmp"]


def test_a_secret_becomes_the_json_podman_reads_back_for_env_from() -> None:
    secret = obj("Secret", "s", stringData={"TOKEN": "t0k"}, data={"URL": base64.b64encode(b"pg://x").decode()})
    payload = json.loads(for_podman([secret]).secrets["s"])
    assert {key: base64.b64decode(value).decode() for key, value in payload.items()} == {"TOKEN": "t0k", "URL": "pg://x"}


def test_a_custom_resource_is_refused_naming_the_profile() -> None:
    with pytest.raises(ValueError, match=r"ScaledObject/api: podman cannot play it.*values-podman\.yaml"):
        for_podman([{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "api"}}])


@pytest.mark.contract
def test_the_podman_profile_renders_only_what_podman_plays_or_stands_in_for() -> None:
    manifests = for_podman(render())
    names = {o["metadata"]["name"] for o in manifests.played if o["kind"] == "Deployment"}
    assert {"forgeline-gateway", "forgeline-echo", "forgeline-imagegen-worker"} <= names
    assert list(manifests.secrets) == ["forgeline-secrets"] and [p["metadata"]["name"] for p in manifests.jobs] == [
        "forgeline-prepare-1"
    ]


@pytest.mark.contract
def test_render_writes_what_podman_takes_and_keeps_the_secret_owner_only_and_off_the_screen(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from forgeline.cli import app

    done = CliRunner().invoke(app, ["containers", "render", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    secret = tmp_path / "secrets" / "forgeline-secrets.json"
    assert secret.stat().st_mode & 0o777 == 0o600
    token = base64.b64decode(json.loads(secret.read_text())["GITHUB_WEBHOOK_SECRET"]).decode()
    assert token not in done.output and "Service x" in done.output
    assert {o["kind"] for o in yaml.safe_load_all((tmp_path / "services.yaml").read_text())} == {"ConfigMap", "Deployment"}
    assert {o["kind"] for o in yaml.safe_load_all((tmp_path / "inits.yaml").read_text())} == {"Pod"}
