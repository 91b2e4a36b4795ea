"""`python -m services.gateway`: the public API (tenants, jobs, webhooks, live updates).

Listens on FORGELINE_GATEWAY_PORT (or FORGELINE_PORT); every route but health needs a tenant's key.
"""

from services.common.http import serve, service_cli
from services.common.settings import get_settings
from services.gateway.app import create_app

if __name__ == "__main__":
    service_cli(__doc__)
    serve(create_app(), get_settings().local.gateway_port)
