"""The local S3 server: MiniStack's ASGI app served by uvicorn (httptools, uvloop).

    python -m forgeline.standins.s3_server --host 127.0.0.1 --port 24566

MiniStack's own entry point serves the same app with hypercorn, whose pure-Python HTTP
parsing made the server the local Kafka's bottleneck: Tansu writes every produced batch,
watermark and offset commit as an object, so each record costs the S3 server several
requests. Under uvicorn the same load costs about a third less of its CPU (docs/NOTES.md).
MiniStack still reads its settings (`SERVICES`, `S3_PERSIST`, `S3_DATA_DIR`, ...) from the
environment.
"""

from __future__ import annotations

import argparse
import resource


def main(argv: list[str] | None = None) -> None:
    """Parse the address and serve until stopped."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    args = parser.parse_args(argv)
    # As MiniStack's own entry point does: connection bursts must not hit a soft limit of 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from ministack.app import app

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
