"""`python -m services.imagegen`: run the image-job consumer (port from FORGELINE_IMAGEGEN_PORT)."""

from services.common.http import serve
from services.common.settings import get_settings
from services.imagegen.app import create_app

if __name__ == "__main__":
    serve(create_app(), get_settings().forgeline_imagegen_port)
