"""`python -m services.echo`: run the echo service (port from FORGELINE_ECHO_PORT)."""

from services.common.http import serve
from services.common.settings import get_settings
from services.echo.app import create_app

if __name__ == "__main__":
    serve(create_app(), get_settings().forgeline_echo_port)
