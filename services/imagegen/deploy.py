"""Deploy the image application to a running Ray cluster, or report its replicas.

    python -m services.imagegen.deploy            # deploy (or update) and wait until healthy
    python -m services.imagegen.deploy --status   # JSON: replica counts by state

Serve applications outlive the driver that deployed them, so this process exits when done.
`forgeline up` runs it after the Ray head is healthy; on Kubernetes a RayService does the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

import httpx

from services.common.settings import Settings, get_settings

HEALTH_TIMEOUT_S = 180.0


def _connect(settings: Settings) -> None:
    import ray

    if not settings.ray_address:
        raise SystemExit("RAY_ADDRESS is not set: run `forgeline up` (it starts a Ray head) or point it at a cluster")
    ray.init(address=settings.ray_address, logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)


def deploy(settings: Settings) -> None:
    """Start Serve's HTTP proxy on the configured port and run the image application."""
    from ray import serve

    from services.imagegen.serve_app import APP_NAME, ROUTE_PREFIX, build_app

    if not (settings.image_model_dir / "model_index.json").exists():
        raise SystemExit(f"no image model at {settings.image_model_dir}: run `forgeline models tiny-sd` or set IMAGE_MODEL_PATH")
    _connect(settings)
    port = int(settings.serve_base_url.rsplit(":", 1)[1].split("/")[0])
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(settings), name=APP_NAME, route_prefix=ROUTE_PREFIX, blocking=False)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    url = f"{settings.serve_base_url}{ROUTE_PREFIX}/healthz"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the image application did not become healthy at {url} within {HEALTH_TIMEOUT_S:.0f}s")


def replica_states(settings: Settings) -> dict[str, dict[str, int]]:
    """Replica counts by state, per deployment of the image application."""
    from ray import serve

    from services.imagegen.serve_app import APP_NAME

    _connect(settings)
    app = serve.status().applications.get(APP_NAME)
    if app is None:
        return {}
    return {
        name: {str(getattr(state, "value", state)): count for state, count in dep.replica_states.items()}
        for name, dep in app.deployments.items()
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m services.imagegen.deploy`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--status", action="store_true", help="print replica counts by state as JSON and exit")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.status:
        print(json.dumps(replica_states(settings)))
    else:
        deploy(settings)
        print(f"image application healthy at {settings.serve_base_url}/imagegen", file=sys.stderr)


if __name__ == "__main__":
    main()
