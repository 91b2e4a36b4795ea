"""What of the rendered chart podman plays, what stands in for the rest, and why.

podman 4.3 (Debian bookworm) plays ConfigMaps, Deployments and Pods. Everything else the chart
renders for the podman profile is either stood in for (said here, per kind) or refused: a
custom resource in this profile means the values are wrong, not something to drop quietly.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "forgeline"
PROFILE = CHART / "values-podman.yaml"
RELEASE = "forgeline"  # the release name the profile's values point at (forgeline-backing, ...)
PLAYED = ("ConfigMap", "Deployment")
STOOD_IN = {
    "Secret": "created with `podman secret create` (podman 4.3 stores a played Secret in a form it cannot read back)",
    "Job": "its pod template is played as a Pod that runs to completion before the services",
    "Service": "pods on one podman network answer by name (aardvark-dns)",
    "ServiceAccount": "no API server to authenticate to",
    "PodDisruptionBudget": "no voluntary evictions on one machine",
    # podman 4.3 makes an emptyDir a named volume of the volume's name, shared by every pod.
    "emptyDir": "a volume named after its pod (podman names it after the volume: one /tmp for every pod)",
    # podman 4.3 publishes every containerPort on the host: two pods' 8080 collide.
    "ports": "not published (podman 4.3 publishes each on the host); pods are reached at their network address",
    # podman before 4.6 gives init containers the pod's restart policy (containers/podman#16343):
    # under a Deployment's `Always`, an init container that succeeded starts again, in a loop.
    "initContainers": "run first as a pod of their own, to completion (podman 4.3 restarts them in a loop)",
}


@dataclass(frozen=True)
class Route:
    """Where a Service sends its traffic: the Deployment its selector picks, each port's target."""

    deployment: str
    ports: dict[int, int]  # service port -> container port


@dataclass
class Manifests:
    """The chart as podman takes it."""

    jobs: list[dict[str, Any]] = field(default_factory=list)  # Pods that run to completion first
    inits: list[dict[str, Any]] = field(default_factory=list)  # each Deployment's init containers, as a Pod
    played: list[dict[str, Any]] = field(default_factory=list)  # ConfigMaps, then Deployments
    secrets: dict[str, bytes] = field(default_factory=dict)  # name -> `podman secret create` payload
    services: dict[str, Route] = field(default_factory=dict)  # what each stood-in Service routes to
    stood_in: list[str] = field(default_factory=list)  # "Kind/name: why"


def render(values_file: Path = PROFILE, release: str = RELEASE, namespace: str = "forgeline") -> list[dict[str, Any]]:
    """Every object the chart renders for these values, as `helm install` would."""
    import helm_python

    values = yaml.safe_load(values_file.read_text())
    output = helm_python.Chart.load(CHART).render(values, name=release, namespace=namespace, is_install=True)
    return [doc for path, text in sorted(output.items()) if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


def for_podman(objects: list[dict[str, Any]]) -> Manifests:
    """Sort rendered objects into what podman plays, creates or stands in for."""
    result = Manifests()
    routes = service_routes(objects)  # before the containers' ports are dropped
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "Deployment" and obj.get("spec", {}).get("template", {}).get("spec", {}).get("initContainers"):
            result.inits.append(init_pod(obj))
            own_empty_dirs(result.inits[-1]["spec"], result.inits[-1]["metadata"]["name"])
            del obj["spec"]["template"]["spec"]["initContainers"]
            result.stood_in.append(f"initContainers/{name}: {STOOD_IN['initContainers']}")
        if kind == "Deployment":
            pod_spec = obj.get("spec", {}).get("template", {}).get("spec", {})
            result.stood_in += own_empty_dirs(pod_spec, name) + unpublished_ports(pod_spec, name)
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
    result.services = routes
    return result


def service_routes(objects: list[dict[str, Any]]) -> dict[str, Route]:
    """Each Service's Deployment (the one whose pod labels its selector matches) and its ports'
    targets, named ports resolved against that Deployment's containers."""
    routes = {}
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    for service in (o for o in objects if o["kind"] == "Service"):
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        for deployment in deployments:
            template = deployment.get("spec", {}).get("template", {})
            if selector and selector.items() <= (template.get("metadata", {}).get("labels") or {}).items():
                named = {p.get("name"): p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
                targets = {p["port"]: p.get("targetPort", p["port"]) for p in spec.get("ports", [])}
                ports = {port: named.get(target, target) for port, target in targets.items()}
                routes[service["metadata"]["name"]] = Route(deployment["metadata"]["name"], ports)
    return routes


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


def own_empty_dirs(pod_spec: dict[str, Any], owner: str) -> list[str]:
    """Rename the pod's emptyDir volumes (and their mounts) `<owner>-<volume>`; what was renamed."""
    renamed = {v["name"]: f"{owner}-{v['name']}" for v in pod_spec.get("volumes", []) if "emptyDir" in v}
    for volume in pod_spec.get("volumes", []):
        volume["name"] = renamed.get(volume["name"], volume["name"])
    for container in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])
    return [f"emptyDir/{name}: {STOOD_IN['emptyDir']}" for name in renamed.values()]


def unpublished_ports(pod_spec: dict[str, Any], owner: str) -> list[str]:
    """Drop the containers' ports, numbering the probes that named one first."""
    dropped = []
    for container in pod_spec.get("containers", []):
        numbers = {p.get("name"): p["containerPort"] for p in container.pop("ports", [])}
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            action = (container.get(kind) or {}).get("httpGet") or (container.get(kind) or {}).get("tcpSocket")
            if action is not None and isinstance(action.get("port"), str):
                action["port"] = numbers[action["port"]]
        dropped += [f"ports/{owner}-{container['name']}: {STOOD_IN['ports']}"] if numbers else []
    return dropped


def init_pod(deployment: dict[str, Any]) -> dict[str, Any]:
    """A Deployment's init containers as the containers of a Pod `<name>-init` with the same
    volumes, security context and service account, retried on failure as a kubelet would."""
    spec = copy.deepcopy(deployment["spec"]["template"]["spec"])
    pod_spec = {k: v for k, v in spec.items() if k not in ("initContainers", "containers")}
    pod_spec |= {"containers": spec["initContainers"], "restartPolicy": "OnFailure"}
    name = deployment["metadata"]["name"]
    metadata = {"name": f"{name}-init", "labels": {"forgeline.io/init-of": name}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}


def as_yaml(objects: list[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML file for `podman kube play`."""
    return str(yaml.safe_dump_all(objects, sort_keys=False))
