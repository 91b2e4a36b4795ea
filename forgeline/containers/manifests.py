"""What of the rendered chart podman plays, what stands in for the rest, and why.

podman 4.3 (Debian bookworm) plays ConfigMaps, Deployments and Pods. Everything else the chart
renders for the podman profile is either stood in for (said here, per kind) or refused: a
custom resource in this profile means the values are wrong, not something to drop quietly.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "forgeline"
PROFILE = CHART / "values-podman.yaml"
PLAYED = ("ConfigMap", "Deployment")
STOOD_IN = {
    "Secret": "created with `podman secret create` (podman 4.3 stores a played Secret in a form it cannot read back)",
    "Job": "its pod template is played as a Pod that runs to completion before the services",
    "Service": "pods on one podman network answer by name (aardvark-dns)",
    "ServiceAccount": "no API server to authenticate to",
    "PodDisruptionBudget": "no voluntary evictions on one machine",
}


@dataclass
class Manifests:
    """The chart as podman takes it."""

    jobs: list[dict[str, Any]] = field(default_factory=list)  # Pods that run to completion first
    played: list[dict[str, Any]] = field(default_factory=list)  # ConfigMaps, then Deployments
    secrets: dict[str, bytes] = field(default_factory=dict)  # name -> `podman secret create` payload
    stood_in: list[str] = field(default_factory=list)  # "Kind/name: why"


def render(values_file: Path = PROFILE, release: str = "forgeline", namespace: str = "forgeline") -> list[dict[str, Any]]:
    """Every object the chart renders for these values, as `helm install` would."""
    import helm_python

    values = yaml.safe_load(values_file.read_text())
    output = helm_python.Chart.load(CHART).render(values, name=release, namespace=namespace, is_install=True)
    return [doc for path, text in sorted(output.items()) if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


def for_podman(objects: list[dict[str, Any]]) -> Manifests:
    """Sort rendered objects into what podman plays, creates or stands in for."""
    result = Manifests()
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind in PLAYED:
            result.played.append(obj)
        elif kind == "Secret":
            result.secrets[name] = secret_payload(obj)
        elif kind == "Job":
            result.jobs.append(job_as_pod(obj))
        if kind in STOOD_IN:
            result.stood_in.append(f"{kind}/{name}: {STOOD_IN[kind]}")
        elif kind not in PLAYED:
            raise ValueError(f"{kind}/{name}: podman cannot play it and nothing stands in; turn it off in {PROFILE.name}")
    result.played.sort(key=lambda o: PLAYED.index(o["kind"]))
    return result


def secret_payload(secret: dict[str, Any]) -> bytes:
    """A Secret as podman 4.3's kube play reads an `envFrom.secretRef`: a JSON object of each key
    to its base64 value (what `podman secret create NAME FILE` stores)."""
    values = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
    values |= {key: str(value) for key, value in (secret.get("stringData") or {}).items()}
    return json.dumps({key: base64.b64encode(value.encode()).decode() for key, value in values.items()}).encode()


def job_as_pod(job: dict[str, Any]) -> dict[str, Any]:
    """A Job's pod template as a Pod of the Job's name (podman 4.3 plays no Jobs)."""
    template = job["spec"]["template"]
    metadata = {"name": job["metadata"]["name"], "labels": template.get("metadata", {}).get("labels", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def as_yaml(objects: list[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML file for `podman kube play`."""
    return str(yaml.safe_dump_all(objects, sort_keys=False))
