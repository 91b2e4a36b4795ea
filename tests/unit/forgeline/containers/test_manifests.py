import base64
import json

import pytest

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
