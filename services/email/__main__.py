"""`python -m services.email compose|deliver`: run the email composer or the delivery service."""

from services.common.http import serve, service_cli
from services.common.settings import get_settings

if __name__ == "__main__":
    args = service_cli(
        __doc__,
        {
            "compose": "cart.abandoned → context, retrieval, generation, guardrails → email.outbound (FORGELINE_EMAIL_PORT)",
            "deliver": "email.outbound → SMTP → email.delivered | email.failed (FORGELINE_EMAIL_DELIVERY_PORT)",
        },
    )
    settings = get_settings()
    # Each role imports only its own wiring: delivery runs in the thin image (no models).
    if args.role == "compose":
        from services.email.app import create_composer_app

        serve(create_composer_app(settings), settings.local.email_port)
    else:
        from services.email.delivery_app import create_delivery_app

        serve(create_delivery_app(settings), settings.local.email_delivery_port)
