"""`kubectl` for the chart played under podman: the verbs the cluster's end-to-end script
(k8s/e2e.sh) uses, answered from the deployment's view (`Platform.kubectl_env`), so that script
runs against the containers unchanged. Anything else is refused by name: this is no general
kubectl.

    rollout status deploy ...           every Deployment's readiness probe passes
    port-forward svc/NAME LOCAL:PORT    127.0.0.1:LOCAL -> the Service's pod, at its target port
    exec deploy/NAME -- COMMAND...      `podman exec` in the Deployment's main container
    get rayservice NAME -o jsonpath=... an application's status: RUNNING while its Serve route
                                        answers its health check in the backing container
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from forgeline.containers.podman import podman_env

VIEW = "FORGELINE_KUBECTL_VIEW"  # the view file's path
APP_STATUS = re.compile(r"jsonpath=\{\.status\.activeServiceStatus\.applicationStatuses\.([\w-]+)\.status\}")


def main(argv: list[str]) -> int:
    args = without_namespace(argv)
    view: dict[str, Any] = json.loads(Path(os.environ[VIEW]).read_text())
    match args:
        case ["rollout", "status", "deploy" | "deployment" | "deployments", *options]:
            return rollout(view, timeout_s(options))
        case ["port-forward", target, mapping]:
            local, _, port = mapping.partition(":")
            return asyncio.run(forward(*target_of(view, target, int(port or local)), int(local)))
        case ["exec", target, "--", *command]:
            container, _, _ = target_of(view, target, 0)
            return subprocess.run(["podman", "exec", container, *command], env=podman_env()).returncode
        case ["get", "rayservice" | "rayservices", name, "-o", jsonpath]:
            return app_status(view, name, jsonpath)
    print(f"kubectl (podman stand-in): `kubectl {' '.join(argv)}` is not a verb k8s/e2e.sh uses", file=sys.stderr)
    return 2


def without_namespace(argv: list[str]) -> list[str]:
    """The arguments less `-n NS` / `--namespace[=]NS` (one namespace here)."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("-n", "--namespace"):
            skip = True
        elif not arg.startswith("--namespace="):
            args.append(arg)
    return args


def timeout_s(options: list[str]) -> float:
    """`--timeout=10m` (s, m or h) in seconds; kubectl's default is no limit, here 10 minutes."""
    found = next((o.split("=", 1)[1] for o in options if o.startswith("--timeout=")), "10m")
    return float(found[:-1]) * {"s": 1, "m": 60, "h": 3600}[found[-1]] if found[-1] in "smh" else float(found)


def target_of(view: dict[str, Any], target: str, port: int) -> tuple[str, str, int]:
    """`svc/NAME` or `deploy/NAME` -> (main container, pod address, container port)."""
    kind, _, name = target.partition("/")
    if kind in ("svc", "service") and name in view["services"]:
        route = view["services"][name]
        pod = view["deployments"][route["deployment"]]
        return pod["container"], pod["ip"], int(route["ports"][str(port)])
    if kind in ("deploy", "deployment") and name in view["deployments"]:
        pod = view["deployments"][name]
        return pod["container"], pod["ip"], port
    raise SystemExit(f'Error from server (NotFound): {kind} "{name}" not found')


def rollout(view: dict[str, Any], limit_s: float) -> int:
    deadline = time.monotonic() + limit_s
    with httpx.Client(timeout=3) as http:
        for name, pod in sorted(view["deployments"].items()):
            while not ready(http, f"http://{pod['ip']}:{pod['ready_port']}{pod['ready_path']}"):
                if time.monotonic() > deadline:
                    print(f'error: deployment "{name}" exceeded its progress deadline', file=sys.stderr)
                    return 1
                time.sleep(1)
            print(f'deployment "{name}" successfully rolled out')
    return 0


def ready(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url).status_code < 400
    except httpx.HTTPError:
        return False


def app_status(view: dict[str, Any], name: str, jsonpath: str) -> int:
    if name not in view["rayservices"]:
        print(f'Error from server (NotFound): rayservices.ray.io "{name}" not found', file=sys.stderr)
        return 1
    match = APP_STATUS.fullmatch(jsonpath)
    if match is None:
        print(f"kubectl (podman stand-in): only {APP_STATUS.pattern} is answered", file=sys.stderr)
        return 2
    health = view["rayservices"][name].get(match[1])
    if health is not None:  # an application not deployed prints nothing, as kubectl does
        with httpx.Client(timeout=5) as http:
            print("RUNNING" if ready(http, health) else "UNHEALTHY", end="")
    return 0


async def forward(_container: str, address: str, port: int, local: int) -> int:
    """Relay every connection to 127.0.0.1:`local` to `address`:`port` until killed."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(address, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

    server = await asyncio.start_server(relay, "127.0.0.1", local)
    print(f"Forwarding from 127.0.0.1:{local} -> {port}", flush=True)
    async with server:
        await server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
