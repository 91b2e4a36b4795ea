"""`python -m services.gateway`: run the public API (port from FORGELINE_GATEWAY_PORT)."""

from services.common.http import serve
from services.common.settings import get_settings
from services.gateway.app import create_app

if __name__ == "__main__":
    serve(create_app(), get_settings().forgeline_gateway_port)
