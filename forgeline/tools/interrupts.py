"""Clean-up that a Ctrl-C must not cut short (a drill's rollbacks, removing the chart's
containers): while it runs, SIGINT only prints why it waits."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupts_deferred(why: str) -> Iterator[None]:
    """Within the block, Ctrl-C prints `why` instead of raising KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; another thread gets no SIGINT
        return
    previous = signal.getsignal(signal.SIGINT)
    message = f"\n{why} (Ctrl-C waits)\n".encode()
    signal.signal(signal.SIGINT, lambda *_: os.write(2, message))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
