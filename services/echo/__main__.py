"""`python -m services.echo`: the echo consumer (echo.requested → echo.completed).

Listens on FORGELINE_ECHO_PORT (or FORGELINE_PORT) for health, readiness and metrics.
"""

from services.common.http import serve, service_cli
from services.common.settings import get_settings
from services.echo.app import create_app

if __name__ == "__main__":
    service_cli(__doc__)
    serve(create_app(), get_settings().local.echo_port)
