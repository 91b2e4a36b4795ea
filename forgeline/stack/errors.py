"""What the supervisor raises: every message says what to do next."""


class StackError(RuntimeError):
    """A stack operation failed; the message says what to do next."""


class PortTakenError(StackError):
    """A port the stack needs is already in use."""
