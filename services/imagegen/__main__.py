"""`python -m services.imagegen`: the image-job consumer (image.requested → a Temporal saga).

Listens on FORGELINE_IMAGEGEN_PORT (or FORGELINE_PORT) for health, readiness and metrics.
"""

from services.common.http import serve, service_cli
from services.common.settings import get_settings
from services.imagegen.app import create_app

if __name__ == "__main__":
    service_cli(__doc__)
    serve(create_app(), get_settings().local.imagegen_port)
