"""Deploy the moderation classifier application to a running Ray cluster, or report it.

    python -m services.moderation.deploy            # deploy (or update) and wait until healthy
    python -m services.moderation.deploy --status   # JSON: replica counts by state

The model directory must exist (`forgeline models classifier`); see `services/common/serve.py`.
"""

from __future__ import annotations

from services.common.serve import deploy_application, deploy_main
from services.common.settings import Settings


def deploy(settings: Settings) -> None:
    """Run the moderation application and wait until it is healthy."""
    from services.moderation.classifier import installed
    from services.moderation.serve_app import APP_NAME, ROUTE_PREFIX, build_app

    if not installed(settings.moderation_model_dir):
        raise SystemExit(
            f"no moderation classifier at {settings.moderation_model_dir}: run `forgeline models classifier` "
            "or set MODERATION_MODEL_PATH"
        )
    deploy_application(settings, build_app(settings), APP_NAME, ROUTE_PREFIX)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m services.moderation.deploy`."""
    from services.moderation.serve_app import APP_NAME

    deploy_main(argv, __doc__ or "", APP_NAME, deploy)


if __name__ == "__main__":
    main()
