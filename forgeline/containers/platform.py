"""The whole chart under podman: the backing container, the prepare Job's pod, then every
Deployment, with a kubelet's probes run from outside (podman 4.3 turns an httpGet probe on a
named port into `curl localhost:0` inside an image that has no curl, and runs no timers
without systemd)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from forgeline.containers import BACKING_IMAGE, BACKING_READY, SERVICE_IMAGE, THIN_IMAGE
from forgeline.containers.kubectl import VIEW
from forgeline.containers.manifests import PROFILE, RELEASE, Manifests, for_podman, render
from forgeline.containers.podman import CONF, Podman, PodmanError
from forgeline.tools.interrupts import interrupts_deferred

BACKING = "forgeline-backing"  # the backing container's name: what values-podman.yaml points at
BACKING_HOME = "/tmp/forgeline"  # FORGELINE_HOME in the image
BACKING_APPS = ("imagegen-serve", "moderation-serve")  # Serve applications whose models the host puts in place
APP_UID = 10001  # the image's user


class DeployError(Exception):
    """A step of `forgeline containers up` failed; the message says which and where to look."""


@dataclass(frozen=True)
class Probe:
    """One probe of one container, as the chart declares it."""

    container: str  # podman's name: <pod>-<container>
    kind: str  # startup | readiness | liveness
    path: str
    port: int
    period_s: float
    failure_threshold: int


@dataclass
class ProbeState:
    ok: bool = False
    failures: int = 0  # consecutive
    passes: int = 0  # in all
    restarts: int = 0  # by the liveness probe


@dataclass
class Kubelet:
    """Runs every probe on its period from a thread, like a kubelet: liveness and readiness
    start once the startup probe passed; a container is ready while its readiness probe passes;
    failing its readiness probe `failureThreshold` times in a row makes it not ready, failing its
    startup or liveness probe so restarts it. Each change is kept in `events`."""

    podman: Podman
    probes: list[Probe]
    address: Callable[[str], str | None]  # container -> its pod's IP (None: not running yet)
    states: dict[tuple[str, str], ProbeState] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def ready(self, container: str) -> bool:
        return self.states.get((container, "readiness"), ProbeState()).ok

    def passes(self, container: str, kind: str) -> int:
        return self.states.get((container, kind), ProbeState()).passes

    def restarts(self) -> int:
        return sum(state.restarts for state in self.states.values())

    def not_ready(self) -> list[str]:
        return sorted({p.container for p in self.probes if p.kind == "readiness" and not self.ready(p.container)})

    def _run(self) -> None:
        due = {(p.container, p.kind): 0.0 for p in self.probes}
        with httpx.Client(timeout=3) as http:
            while not self._stop.wait(0.5):
                now = time.monotonic()
                for probe in self.probes:
                    if due[(probe.container, probe.kind)] <= now:
                        due[(probe.container, probe.kind)] = now + probe.period_s
                        self._probe(http, probe)

    def _probe(self, http: httpx.Client, probe: Probe) -> None:
        has_startup = any(p.container == probe.container and p.kind == "startup" for p in self.probes)
        started = self.states.get((probe.container, "startup"), ProbeState()).ok
        if has_startup and started == (probe.kind == "startup"):
            return  # liveness and readiness start once the startup probe passed, which then stops
        state = self.states.setdefault((probe.container, probe.kind), ProbeState())
        ip = self.address(probe.container)
        try:
            ok = ip is not None and http.get(f"http://{ip}:{probe.port}{probe.path}").status_code < 400
        except httpx.HTTPError:
            ok = False
        state.failures, state.passes = (0, state.passes + 1) if ok else (state.failures + 1, state.passes)
        # One pass makes a container ready (successThreshold 1); only failureThreshold failures
        # in a row make it not ready again.
        if ok != state.ok and (ok or probe.kind != "readiness" or state.failures >= probe.failure_threshold):
            if probe.kind in ("readiness", "startup"):
                self._event(probe, {"readiness": "ready" if ok else "not ready", "startup": "started"}[probe.kind])
            state.ok = ok
        if probe.kind != "readiness" and ip is not None and state.failures >= probe.failure_threshold:
            self._event(probe, f"restarted after {state.failures} failed {probe.kind} probes")
            state.failures, state.restarts = 0, state.restarts + 1
            for kind in ("startup", "readiness"):  # a restarted container starts over
                if (probe.container, kind) in self.states:
                    self.states[(probe.container, kind)].ok = False
            try:
                self.podman.run("restart", probe.container)
            except PodmanError as error:
                self._event(probe, f"restart failed: {error}")

    def _event(self, probe: Probe, what: str) -> None:
        self.events.append({"at": time.time(), "container": probe.container, "probe": probe.kind, "event": what})


def probes_of(manifests: Manifests) -> list[Probe]:
    """The readiness and liveness probes of every Deployment's containers (httpGet, named or
    numbered ports resolved against the container's own)."""
    found = []
    for deployment in (o for o in manifests.played if o["kind"] == "Deployment"):
        pod = pod_name(deployment["metadata"]["name"])
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            for kind in ("startup", "readiness", "liveness"):
                spec = container.get(f"{kind}Probe")
                if not spec or "httpGet" not in spec:
                    continue
                port = spec["httpGet"]["port"]
                found.append(
                    Probe(
                        container=f"{pod}-{container['name']}",
                        kind=kind,
                        path=spec["httpGet"].get("path", "/"),
                        port=int(ports[port] if isinstance(port, str) else port),
                        period_s=float(spec.get("periodSeconds", 10)),
                        failure_threshold=int(spec.get("failureThreshold", 3)),
                    )
                )
    return found


def pod_name(deployment: str) -> str:
    return f"{deployment}-pod-0"  # podman 4.3 names a Deployment's one pod so


@dataclass
class Platform:
    """The chart's workloads and their backing, played under podman on one network."""

    podman: Podman
    manifests: Manifests
    backing_image: str = BACKING_IMAGE
    kubelet: Kubelet | None = None
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    _ips: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        """The backing container's FORGELINE_HOME, on this machine (mail, logs, stack.json)."""
        return self.podman.workdir / "backing-home"

    def deployments(self) -> list[str]:
        return [o["metadata"]["name"] for o in self.manifests.played if o["kind"] == "Deployment"]

    def image_sizes_mb(self) -> dict[str, float]:
        """Each image this ran, with its size as podman reports it (MB of 10^6 bytes)."""
        played = [o for o in self.manifests.played if o["kind"] == "Deployment"]
        specs = [o["spec"]["template"]["spec"] for o in played] + [p["spec"] for p in self.manifests.jobs + self.manifests.inits]
        images = sorted({c["image"] for spec in specs for c in spec["containers"]} | {self.backing_image})
        sizes = self.podman.run("image", "inspect", "--format", "{{.Size}}", *images).split()
        return {image: round(int(size) / 1e6, 1) for image, size in zip(images, sizes, strict=True)}

    def container(self, deployment: str) -> str:
        """The main container of a Deployment (named like the Deployment, less the release)."""
        [obj] = [o for o in self.manifests.played if o["kind"] == "Deployment" and o["metadata"]["name"] == deployment]
        return f"{pod_name(deployment)}-{obj['spec']['template']['spec']['containers'][0]['name']}"

    def ip(self, name: str) -> str | None:
        """The IP of a container (a pod member: its pod's) on the network, or None."""
        pod = name if name == BACKING else name[: name.index("-pod-0") + len("-pod-0")]
        if pod not in self._ips:
            try:
                target = pod if pod == BACKING else json.loads(self.podman.run("pod", "inspect", pod))["InfraContainerID"]
                networks = self.podman.inspect(target)["NetworkSettings"]["Networks"]
            except (PodmanError, KeyError, ValueError):
                return None
            address = (networks.get(self.podman.network) or {}).get("IPAddress")
            if not address:
                return None
            self._ips[pod] = address
        return self._ips[pod]

    def url(self, name: str, port: int) -> str:
        address = self.ip(name)
        if address is None:
            raise DeployError(f"{name} has no address on {self.podman.network}: `podman ps -a` shows its state")
        return f"http://{address}:{port}"

    def up(self, say: Callable[[str], None], timeout_s: float = 900.0) -> None:
        """Network, secrets, backing, the prepare pod, then the Deployments until all are ready."""
        deadline = time.monotonic() + timeout_s
        self._refuse_leftovers()
        self.podman.create_network()
        for name, payload in self.manifests.secrets.items():
            self.podman.create_secret(name, payload)
        with self._timed("backing"):
            self._start_backing(say, deadline)
        with self._timed("prepare"):
            self._run_jobs(say, deadline)
        with self._timed("services"):
            say(f"playing {len(self.deployments())} Deployments of the chart (`podman kube play`)")
            self.podman.play(self.manifests.played, "services")
            self.kubelet = Kubelet(self.podman, probes_of(self.manifests), self.ip)
            self.kubelet.start()
            self.wait_ready(say, deadline)

    def wait_ready(self, say: Callable[[str], None], deadline: float) -> None:
        """Until every container's readiness probe passes (as `kubectl rollout status`)."""
        assert self.kubelet is not None
        last: list[str] = []
        while waiting := self.kubelet.not_ready():
            if time.monotonic() > deadline:
                raise DeployError(f"not ready in time: {', '.join(waiting)}; `podman logs <name>` says why")
            if waiting != last and len(waiting) <= 6:
                say(f"  waiting for readiness: {', '.join(waiting)}")
            last = waiting
            time.sleep(1)
        say(f"all {len(self.deployments())} Deployments ready")

    def save_logs(self, folder: Path) -> None:
        """Every container's output (backing, jobs, each Deployment's init and main containers)."""
        folder.mkdir(parents=True, exist_ok=True)
        pods = self.manifests.jobs + self.manifests.inits
        names = [BACKING] + [f"{p['metadata']['name']}-{c['name']}" for p in pods for c in p["spec"]["containers"]]
        names += [self.container(name) for name in self.deployments()]
        for name in names:
            (folder / f"{name}.log").write_text(self.podman.logs(name))
        if (self.home / "logs").is_dir():
            shutil.copytree(self.home / "logs", folder / "backing", dirs_exist_ok=True)

    def kubectl_env(self) -> dict[str, str]:
        """An environment whose `kubectl` is the stand-in (forgeline/containers/kubectl.py) for
        this deployment, with the view it answers from: each Deployment's main container,
        address and readiness probe, each Service's route, the Serve applications' health."""
        assert self.kubelet is not None
        readiness = {p.container: p for p in self.kubelet.probes if p.kind == "readiness"}
        deployments = {}
        for name in self.deployments():
            container = self.container(name)
            probe = readiness[container]
            deployments[name] = {
                "container": container,
                "ip": self.ip(container),
                "ready_path": probe.path,
                "ready_port": probe.port,
            }
        backing = self.ip(BACKING)
        apps = {
            part.removesuffix("-serve"): f"{c['endpoint']}/healthz".replace("127.0.0.1", str(backing))
            for part, c in self.backing_state()["components"].items()
            if part in BACKING_APPS
        }
        view = {
            "deployments": deployments,
            "services": {name: {"deployment": r.deployment, "ports": r.ports} for name, r in self.manifests.services.items()},
            "rayservices": {f"{RELEASE}-serve": apps},
        }
        (path := self.podman.workdir / "cluster.json").write_text(json.dumps(view, indent=2))
        shim = self.podman.workdir / "bin" / "kubectl"
        shim.parent.mkdir(exist_ok=True)
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m forgeline.containers.kubectl "$@"\n')
        shim.chmod(0o755)
        return {
            **os.environ,
            "PATH": f"{shim.parent}:{os.environ.get('PATH', '')}",
            VIEW: str(path),
        }

    def down(self) -> list[str]:
        with interrupts_deferred("removing every pod, container, secret and network this made"):
            if self.kubelet is not None:
                self.kubelet.stop()
            return self.podman.down()

    def backing_state(self) -> dict[str, Any]:
        """The backing container's stack.json (endpoints as seen inside it)."""
        state: dict[str, Any] = json.loads((self.home / "stack.json").read_text())
        return state

    def _refuse_leftovers(self) -> None:
        """The names this plays are fixed (the values point at them): say what an interrupted
        earlier run left behind rather than fail half-way."""
        pods = self.manifests.jobs + self.manifests.inits
        ours = {
            "container": {BACKING},
            "pod": {p["metadata"]["name"] for p in pods} | {pod_name(d) for d in self.deployments()},
            "secret": set(self.manifests.secrets),
        }
        listing = {
            "container": ("ps", "--all", "--format", "{{.Names}}"),
            "pod": ("pod", "ps", "--format", "{{.Name}}"),
            "secret": ("secret", "ls", "--format", "{{.Name}}"),
        }
        found = {what: ours[what] & set(self.podman.run(*listing[what]).split()) for what in ours}
        if any(found.values()):
            names = "; ".join(f"{what} {' '.join(sorted(n))}" for what, n in found.items() if n)
            removal = {"container": "rm -f", "pod": "pod rm -f", "secret": "secret rm"}
            how = " && ".join(f"podman {removal[what]} {' '.join(sorted(n))}" for what, n in found.items() if n)
            raise DeployError(f"left by an earlier run: {names}. Remove them (CONTAINERS_CONF={CONF}): {how}")

    def _start_backing(self, say: Callable[[str], None], deadline: float) -> None:
        from forgeline.stack import Stack, isolated_settings

        self.home.mkdir(parents=True)
        stack = Stack(isolated_settings(self.home))
        say("models for the Serve applications, from this machine's model cache")
        stack.install_models(BACKING_APPS)
        chown_tree(self.home, APP_UID)
        say(f"starting {BACKING} ({self.backing_image}): Kafka, Postgres, Redis, S3, Temporal, Ray + Serve, SMTP, GitHub")
        self.podman.run(
            "run", "--detach", "--name", BACKING, "--network", self.podman.network, "--shm-size", "256m",
            "--volume", f"{self.home}:{BACKING_HOME}",
            "--env", f"FORGELINE_ADVERTISED_HOST={BACKING}",
            self.backing_image,
        )  # fmt: skip
        self.podman.made.append(("container", BACKING))
        while BACKING_READY not in (log := self.podman.logs(BACKING)):
            state = self.podman.inspect(BACKING)["State"]
            if not state["Running"] or time.monotonic() > deadline:
                raise DeployError(f"{BACKING} did not come up ({state['Status']}):\n{log[-3000:]}")
            time.sleep(2)
        say(log.strip().splitlines()[-1])

    def _complete(self, pods: list[dict[str, Any]], name: str, deadline: float) -> list[str]:
        """Play pods that run to completion (with what they read, e.g. ConfigMaps) and await
        every container's exit 0 (restarts on failure are the pods' own policy); the last line
        each printed."""
        if self.podman.play(pods, name).wait(timeout=max(1.0, deadline - time.monotonic())) != 0:
            raise DeployError(f"podman kube play of {name} failed:\n{(self.podman.workdir / f'{name}.log').read_text()[-3000:]}")
        last = []
        for pod in (p for p in pods if p["kind"] == "Pod"):
            for spec in pod["spec"]["containers"]:
                container = f"{pod['metadata']['name']}-{spec['name']}"
                while (state := self.podman.inspect(container)["State"])["Status"] != "exited" or state["ExitCode"] != 0:
                    if time.monotonic() > deadline:
                        raise DeployError(f"{container} did not complete:\n{self.podman.logs(container)[-3000:]}")
                    time.sleep(2)
                last.append(f"{container}: {(self.podman.logs(container).strip().splitlines() or [''])[-1]}")
        return last

    def _run_jobs(self, say: Callable[[str], None], deadline: float) -> None:
        """Each Job's pod, then every Deployment's init containers, run to completion."""
        for job in self.manifests.jobs:
            say(f"running the {job['metadata']['name']} Job's pod to completion")
            for line in self._complete([job], job["metadata"]["name"], deadline):
                say(f"  {line}")
        say(f"running the init containers of {len(self.manifests.inits)} Deployments to completion")
        configmaps = [o for o in self.manifests.played if o["kind"] == "ConfigMap"]  # kube play reads them from the file
        self._complete(configmaps + self.manifests.inits, "inits", deadline)

    @contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings[step] = round(time.monotonic() - started, 1)


def plan(image: str, thin_image: str = THIN_IMAGE, backing_image: str = BACKING_IMAGE, values: Path = PROFILE) -> Platform:
    """The chart rendered for podman with these images, nothing started yet (each container keeps
    the kind of image the chart gave it: the full one, or the thin one of the services that load
    no model)."""
    manifests = for_podman(render(values))
    chosen = {SERVICE_IMAGE: image, THIN_IMAGE: thin_image}
    for obj in [o for o in manifests.played if o["kind"] == "Deployment"] + manifests.jobs + manifests.inits:
        spec = obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else obj["spec"]
        for container in spec["containers"]:
            if container["image"] not in chosen:
                raise DeployError(f"{values.name} renders the image {container['image']}, not one `make images` builds")
            container["image"] = chosen[container["image"]]
    return Platform(Podman(network=f"forgeline-{uuid.uuid4().hex[:8]}"), manifests, backing_image)


def chown_tree(root: Path, uid: int) -> None:
    """Hand a folder to the image's user (the backing container runs as it)."""
    for folder, _, files in os.walk(root):
        os.chown(folder, uid, uid)
        for name in files:
            os.chown(Path(folder) / name, uid, uid)
