"""An ASGI app served by uvicorn in a background thread on a free port of 127.0.0.1 (the
stand-in servers of tests and demos: the scripted LLM, the GitHub API stand-in)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from forgeline.stack import free_ports


class ThreadedServer:
    """Start, use `.port`, stop; `name` appears in the start-up error."""

    def __init__(self, app: Any, name: str) -> None:
        self.name = name
        [self.port] = free_ports(1)  # below the ephemeral range, like the stack's own ports
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        """Start serving; returns once it accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop serving."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
