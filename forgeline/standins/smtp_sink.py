"""A local SMTP sink (aiosmtpd) that keeps every message as a `.eml` file.

`python -m forgeline.standins.smtp_sink --port 22525 --dir .forgeline/mail`
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class MaildirHandler:
    """Writes each accepted message to its own file (atomically: temp file, then rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        content = envelope.original_content or b""
        header = f"X-Forgeline-Mail-From: {envelope.mail_from}\r\nX-Forgeline-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(header.encode() + content)
        tmp.rename(self.directory / name)
        return "250 Message accepted for delivery"


def main() -> None:
    """Run the sink until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description="SMTP sink that stores each message as a file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="where .eml files are written")
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    stop = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
