"""Deploy the image application to a running Ray cluster, or report its replicas.

    python -m services.imagegen.deploy            # deploy (or update) and wait until healthy
    python -m services.imagegen.deploy --status   # JSON: replica counts by state

See `services/common/serve.py` for how deploy modules run.
"""

from __future__ import annotations

from services.common.serve import deploy_application, deploy_main
from services.common.settings import Settings


def deploy(settings: Settings) -> None:
    """Run the image application and wait until it is healthy."""
    from services.imagegen.serve_app import APP_NAME, ROUTE_PREFIX, build_app

    if not (settings.image_model_dir / "model_index.json").exists():
        raise SystemExit(
            f"no image model at {settings.image_model_dir}: run `forgeline models tiny-sd` or set IMAGEGEN_MODEL_PATH"
        )
    deploy_application(settings, build_app(settings), APP_NAME, ROUTE_PREFIX)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m services.imagegen.deploy`."""
    from services.imagegen.serve_app import APP_NAME

    deploy_main(argv, __doc__ or "", APP_NAME, deploy)


if __name__ == "__main__":
    main()
