"""The local stack: the supervisor behind `forgeline up/down/status` and the test fixtures."""

from forgeline.stack.components import STANDIN_TOKEN
from forgeline.stack.errors import PortTakenError, StackError
from forgeline.stack.ports import free_ports, isolated_settings
from forgeline.stack.supervisor import Stack

__all__ = ["STANDIN_TOKEN", "PortTakenError", "Stack", "StackError", "free_ports", "isolated_settings"]
