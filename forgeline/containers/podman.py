"""podman with the project's containers.conf, remembering everything it made so that `down`
removes exactly that (newest first), also after a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forgeline.containers.manifests import as_yaml

CONF = Path(__file__).resolve().parents[2] / "k8s" / "podman" / "containers.conf"


class PodmanError(Exception):
    """A podman command failed; the message carries its stderr."""


@dataclass
class Podman:
    """One deployment's network, secrets and played files."""

    network: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="forgeline-podman-")))
    made: list[tuple[str, str]] = field(default_factory=list)  # (what, name or file), in order
    players: list[subprocess.Popen[bytes]] = field(default_factory=list)  # `kube play`s in flight

    def run(self, *args: str, stdin: bytes | None = None) -> str:
        """A podman command that ends by itself (not `kube play`: see `play`); its stdout."""
        done = subprocess.run(["podman", *args], input=stdin, capture_output=True, env=podman_env(), timeout=300)
        if done.returncode != 0:
            raise PodmanError(f"podman {' '.join(args[:3])} failed: {done.stderr.decode(errors='replace').strip()[-800:]}")
        return done.stdout.decode(errors="replace")

    def create_network(self) -> None:
        self.run("network", "create", self.network)
        self.made.append(("network", self.network))

    def create_secret(self, name: str, payload: bytes) -> None:
        self.run("secret", "create", name, "-", stdin=payload)
        self.made.append(("secret", name))

    def play(self, objects: list[dict[str, Any]], name: str) -> subprocess.Popen[bytes]:
        """Start `podman kube play` of the objects (kept as `<workdir>/<name>.yaml`) on the
        network. It returns only once every pod's init containers have finished, so it runs in
        the background; its output goes to `<workdir>/<name>.log`."""
        path = self.workdir / f"{name}.yaml"
        path.write_text(as_yaml(objects))
        self.made.append(("played", str(path)))
        with (self.workdir / f"{name}.log").open("wb") as log:
            player = subprocess.Popen(
                ["podman", "kube", "play", "--network", self.network, str(path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=podman_env(),
            )
        self.players.append(player)
        return player

    def inspect(self, container: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(self.run("container", "inspect", container))
        return found[0]

    def logs(self, container: str) -> str:
        """What the container printed (podman replays its stderr on its own stderr)."""
        done = subprocess.run(["podman", "logs", container], capture_output=True, env=podman_env(), timeout=60)
        return (done.stdout + done.stderr).decode(errors="replace")

    def down(self) -> list[str]:
        """Remove what this made, newest first; every removal is tried, failures are returned."""
        undo = {
            "played": ("kube", "play", "--down"),
            "container": ("rm", "--force", "--time", "30"),
            "secret": ("secret", "rm"),
            "network": ("network", "rm", "-f"),
        }
        failures = []
        for player in self.players:  # still waiting on init containers: their pods go below
            player.terminate()
            player.wait(timeout=30)
        self.players.clear()
        for what, name in reversed(self.made):
            try:
                self.run(*undo[what], name)
            except (PodmanError, subprocess.TimeoutExpired) as error:
                if what != "played":
                    failures.append(f"{what} {name}: {error}")
                    continue
                # `kube play --down` stops at a pod that a failed play never made: the rest one by one.
                for pod in pods_of(Path(name)):
                    try:
                        self.run("pod", "rm", "--force", "--ignore", pod)
                    except (PodmanError, subprocess.TimeoutExpired) as again:
                        failures.append(f"pod {pod}: {again}")
        self.made.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return failures


def pods_of(played: Path) -> list[str]:
    """The pods `kube play` makes of a file: a Pod's name, `<name>-pod-0` for a Deployment."""
    objects = [o for o in yaml.safe_load_all(played.read_text()) if o]
    kinds = {"Pod": "", "Deployment": "-pod-0"}
    return [o["metadata"]["name"] + kinds[o["kind"]] for o in objects if o["kind"] in kinds]


def podman_env() -> dict[str, str]:
    """The environment of every podman call: the project's containers.conf."""
    return {**os.environ, "CONTAINERS_CONF": str(CONF)}
