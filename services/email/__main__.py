"""`python -m services.email compose|deliver`: run the composer or the delivery service."""

import sys

from services.common.http import serve
from services.common.settings import get_settings
from services.email.app import create_composer_app, create_delivery_app

if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    settings = get_settings()
    if role == "compose":
        serve(create_composer_app(settings), settings.forgeline_email_port)
    elif role == "deliver":
        serve(create_delivery_app(settings), settings.forgeline_email_delivery_port)
    else:
        sys.exit("usage: python -m services.email compose|deliver")
