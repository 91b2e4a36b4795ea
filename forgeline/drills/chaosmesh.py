"""A drill compiled into Chaos Mesh resources for the chart's pods (`forgeline drill render
NAME --k8s`): one Workflow whose entry runs, in parallel, a continuous StatusCheck per HTTP
probe of the steady state (the workflow aborts when one fails) and the method in order:
a Suspend up to each fault's `at_s`, then the fault as PodChaos or NetworkChaos, or as a Task
running the platform's own image (a DLQ replay).

What Chaos Mesh cannot express is said, not faked: a `when` trigger becomes "right after the
previous step" (its condition is kept as an annotation), and fault flags, stand-in answers,
poison and image cancels (actions on the platform, not on pods) are listed as not rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forgeline.drills.schema import Drill, Fault

API = "chaos-mesh.org/v1alpha1"
NOT_ON_PODS = ("flag", "standin", "poison", "cancel_images")  # act on the platform, not on pods
NOT_IN_CHART = ("smtp", "github")  # local stand-ins: on a cluster these are real external services


@dataclass(frozen=True)
class Target:
    """Where the chart runs: its namespace, release and image."""

    namespace: str = "forgeline"
    release: str = "forgeline"
    image: str = "ghcr.io/forgeline/forgeline:0.1.0"

    def selector(self, part: str) -> dict[str, Any]:
        """Chaos Mesh's pod selector for a local part's counterpart in the chart."""
        if part == "kafka":  # Strimzi's broker pods
            labels = {"strimzi.io/cluster": f"{self.release}-kafka", "strimzi.io/kind": "Kafka"}
        elif part == "ray":  # KubeRay's head
            labels = {"ray.io/node-type": "head"}
        elif part.endswith("-serve"):  # Serve replicas run on KubeRay's workers
            labels = {"ray.io/node-type": "worker"}
        else:
            component = {"s3": "minio"}.get(part, part)
            labels = {"app.kubernetes.io/instance": self.release, "app.kubernetes.io/component": component}
        return {"namespaces": [self.namespace], "labelSelectors": labels}

    def gateway_url(self, path: str) -> str:
        return f"http://{self.release}-gateway.{self.namespace}.svc{path}"


SCAFFOLD = ("Serial", "Parallel", "Suspend", "StatusCheck", "Task")  # templates that strike no pod


@dataclass
class Rendered:
    """The resources, and the drill's steps that have no Chaos Mesh form (with why)."""

    resources: list[dict[str, Any]]
    not_rendered: list[str] = field(default_factory=list)

    @property
    def strikes(self) -> bool:
        """Whether any step acts on pods (a workflow of waits, checks and a replay proves nothing)."""
        return any(t["templateType"] not in SCAFFOLD for r in self.resources for t in r["spec"]["templates"])


def _seconds(value: float) -> str:
    return f"{max(1, round(value))}s"


def _chaos(fault: Fault, target: Target) -> tuple[str, str, dict[str, Any]] | None:
    """(template type, spec field, spec) of a fault that acts on pods; None otherwise."""
    spec: dict[str, Any]
    if fault.kill:
        mode = "one" if fault.kill.part.endswith("-serve") else "all"  # one replica, as the local drill kills
        spec = {"action": "pod-kill", "mode": mode, "selector": target.selector(fault.kill.part)}
        if fault.kill.signal == "SIGKILL":
            spec["gracePeriod"] = 0
        return "PodChaos", "podChaos", spec
    if fault.restart and fault.restart.down_s:  # kept down: pod-failure for that long, as a freeze
        spec = {"action": "pod-failure", "mode": "all", "selector": target.selector(fault.restart.part)}
        return "PodChaos", "podChaos", spec | {"duration": _seconds(fault.restart.down_s)}
    if fault.restart:
        return "PodChaos", "podChaos", {"action": "pod-kill", "mode": "all", "selector": target.selector(fault.restart.part)}
    if fault.freeze:  # the containers swapped for pause ones: there, not answering
        spec = {"action": "pod-failure", "mode": "all", "selector": target.selector(fault.freeze.part)}
        return "PodChaos", "podChaos", spec | {"duration": _seconds(fault.freeze.seconds)}
    if fault.partition:
        cut = fault.partition
        spec = {
            "mode": "all",
            "selector": {"namespaces": [target.namespace], "labelSelectors": {"app.kubernetes.io/instance": target.release}},
            "direction": "to",
            "target": {"mode": "all", "selector": target.selector(cut.part)},
            "duration": _seconds(cut.seconds),
        }
        if cut.mode == "reject":
            return "NetworkChaos", "networkChaos", {"action": "partition", **spec}
        return "NetworkChaos", "networkChaos", {"action": "loss", "loss": {"loss": "100"}, **spec}
    return None


def render(drill: Drill, target: Target | None = None) -> Rendered:
    """The drill as a Chaos Mesh Workflow in the chart's namespace."""
    target = target or Target()
    templates: list[dict[str, Any]] = []
    steps: list[str] = []
    not_rendered: list[str] = []
    at = 0.0
    for number, fault in enumerate(drill.method, 1):
        name = f"f{number}-{fault.kind.replace('_', '-')}"
        if fault.kind in NOT_ON_PODS:
            not_rendered.append(f"{fault.name} ({fault.kind}: acts on the platform, not on pods)")
            continue
        part = next((getattr(fault, k).part for k in ("kill", "restart", "freeze", "partition") if getattr(fault, k)), None)
        if part in NOT_IN_CHART:
            not_rendered.append(f"{fault.name} ({part} is a local stand-in, not a pod of the chart)")
            continue
        if fault.trigger.at_s is not None and fault.trigger.at_s > at:
            wait = f"wait-{number}"
            templates.append({"name": wait, "templateType": "Suspend", "deadline": _seconds(fault.trigger.at_s - at)})
            steps.append(wait)
            at = fault.trigger.at_s
        chaos = _chaos(fault, target)
        template: dict[str, Any]
        if chaos is not None:
            kind, spec_field, spec = chaos
            template = {"name": name, "templateType": kind, spec_field: spec}
            if "duration" in spec:
                template["deadline"] = spec["duration"]
        else:  # dlq_replay: the operator's command, run from the platform's image
            assert fault.dlq_replay is not None
            command = ["forgeline", "dlq", "replay", fault.dlq_replay.topic]
            container = {"name": "replay", "image": target.image, "command": command}
            template = {"name": name, "templateType": "Task", "task": {"container": container}}
        templates.append(template)
        steps.append(name)
    probes = [p for p in drill.steady_state.probes if p.http]
    checks = []
    for number, probe in enumerate(probes, 1):
        assert probe.http is not None
        check = {
            "mode": "Continuous",
            "type": "HTTP",
            "intervalSeconds": max(1, round(drill.steady_state.interval_s)),
            "failureThreshold": 3,
            "http": {
                "url": target.gateway_url(probe.http.path),
                "method": "GET",
                "criteria": {"statusCode": str(probe.http.status)},
            },
        }
        checks.append(f"steady-{number}")
        deadline = _seconds(drill.workload.duration_s + drill.recovery_budget_s)
        templates.append(
            {
                "name": f"steady-{number}",
                "templateType": "StatusCheck",
                "abortWithStatusCheck": True,
                "deadline": deadline,
                "statusCheck": check,
            }
        )
    templates.append({"name": "method", "templateType": "Serial", "children": steps})
    templates.append({"name": "entry", "templateType": "Parallel", "children": ["method", *checks]})
    not_rendered += [f"probe {p.name} (only HTTP probes become StatusChecks)" for p in drill.steady_state.probes if not p.http]
    annotations = {"forgeline.dev/proves": drill.proves}
    waits = [f"{f.name}: {f.trigger.when.name}" for f in drill.method if f.trigger.when is not None]
    if waits:
        annotations["forgeline.dev/conditions-not-awaited"] = "; ".join(waits)
    if not_rendered:
        annotations["forgeline.dev/not-rendered"] = "; ".join(not_rendered)
    workflow = {
        "apiVersion": API,
        "kind": "Workflow",
        "metadata": {"name": drill.name, "namespace": target.namespace, "annotations": annotations},
        "spec": {"entry": "entry", "templates": templates},
    }
    return Rendered([workflow], not_rendered)
