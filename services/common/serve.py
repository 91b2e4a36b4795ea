"""Deploying Ray Serve applications into the stack's Ray cluster, and asking after them.

Serve applications outlive the driver that deployed them: `forgeline up` runs each
application's deploy module once the Ray head is healthy (on Kubernetes a RayService does
the same), and the module exits when the application answers its health check.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.common.settings import ServeScaling, Settings

HEALTH_TIMEOUT_S = 180.0


def model_options(scaling: ServeScaling) -> dict[str, Any]:
    """`Deployment.options(...)` of a model deployment, sized from its domain's settings: the
    one shape every Serve application's model takes."""
    batch = scaling.max_batch_size
    return {
        "ray_actor_options": {"num_cpus": scaling.num_cpus, "num_gpus": scaling.num_gpus},
        "max_ongoing_requests": scaling.max_ongoing_requests or max(4 * batch, 16),
        "autoscaling_config": {
            "min_replicas": scaling.min_replicas,
            "initial_replicas": scaling.min_replicas,
            "max_replicas": scaling.max_replicas,
            "target_ongoing_requests": scaling.target_ongoing_requests or batch,
            "upscale_delay_s": scaling.upscale_delay_s,
            "downscale_delay_s": scaling.downscale_delay_s,
            # Decide on what the replicas report each second (Serve's defaults react slower).
            "metrics_interval_s": 1.0,
            "look_back_period_s": 3.0,
        },
    }


def connect_ray(settings: Settings) -> None:
    """Join the cluster at `RAY_ADDRESS` as a quiet driver."""
    import ray

    if not settings.endpoints.ray_address:
        raise SystemExit("RAY_ADDRESS is not set: run `forgeline up` (it starts a Ray head) or point it at a cluster")
    ray.init(address=settings.endpoints.ray_address, logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)


def deploy_application(settings: Settings, app: Any, name: str, route_prefix: str) -> None:
    """Start Serve's HTTP proxy on the configured port, run `app` and wait for `<prefix>/healthz`."""
    from ray import serve

    connect_ray(settings)
    port = int(settings.serve_base_url.rsplit(":", 1)[1].split("/")[0])
    serve.start(http_options={"host": settings.bind_host, "port": port})
    serve.run(app, name=name, route_prefix=route_prefix, blocking=False)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    url = f"{settings.serve_base_url}{route_prefix}/healthz"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the {name} application did not become healthy at {url} within {HEALTH_TIMEOUT_S:.0f}s")


def builder_from_environment(build: Callable[[Settings], Any]) -> Callable[[dict[str, Any]], Any]:
    """Ray Serve's application builder for `import_path` (a RayService or `serve run config.yaml`):
    settings come from the replicas' environment (`runtime_env.env_vars`), not from `args`."""

    def app_builder(args: dict[str, Any]) -> Any:
        from services.common.settings import get_settings

        return build(get_settings())

    return app_builder


def replica_states(settings: Settings, name: str) -> dict[str, dict[str, int]]:
    """Replica counts by state, per deployment of application `name`."""
    from ray import serve

    connect_ray(settings)
    app = serve.status().applications.get(name)
    if app is None:
        return {}
    return {
        deployment: {str(getattr(state, "value", state)): count for state, count in status.replica_states.items()}
        for deployment, status in app.deployments.items()
    }


def deploy_main(argv: list[str] | None, description: str, name: str, deploy: Callable[[Settings], None]) -> None:
    """The command line of a deploy module: deploy and wait, `--status` (replica counts as JSON)
    or `--delete`."""
    from services.common.settings import get_settings

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="print replica counts by state as JSON and exit")
    action.add_argument("--delete", action="store_true", help="remove the application (a drill's deployment down)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.status:
        print(json.dumps(replica_states(settings, name)))
    elif args.delete:
        from ray import serve

        connect_ray(settings)
        serve.delete(name)
        print(f"{name} application deleted", file=sys.stderr)
    else:
        deploy(settings)
        print(f"{name} application healthy at {settings.serve_base_url}/{name}", file=sys.stderr)
