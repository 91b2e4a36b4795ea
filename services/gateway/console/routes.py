"""`GET /console` and its static files. The page holds no data and no secrets, so it needs no
key; the script sends the key the user signs in with (kept in session storage) as a bearer
header on every API call, so there is no cookie to forge a request with.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from services.common.settings import Settings

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles from this origin only (no inline code at all); images also from the
    S3 endpoint, since a finished job's PNG is a presigned URL there."""
    s3 = urlsplit(settings.endpoints.s3_endpoint_url)
    images = f"{s3.scheme}://{s3.netloc}" if s3.netloc else "https://*.amazonaws.com"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' {images}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def console_routes(settings: Settings) -> APIRouter:
    """The console's page and files (not part of the API document)."""
    router = APIRouter(prefix="/console", include_in_schema=False)
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    files = {path.name: path for path in STATIC.iterdir() if path.suffix in TYPES}

    @router.get("")
    async def console() -> FileResponse:
        return FileResponse(files["index.html"], media_type=TYPES[".html"], headers=headers)

    @router.get("/static/{name}")
    async def static(name: str) -> FileResponse:
        path = files.get(name)  # only the files shipped with the package: no path from the URL is opened
        if path is None:
            raise HTTPException(404, f"no console file {name!r}")
        return FileResponse(path, media_type=TYPES[path.suffix], headers=headers)

    return router
