"""Free ports for throw-away stacks (tests, benches), and their settings."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from forgeline.stack import procs
from forgeline.stack.errors import StackError
from services.common.settings import LocalPorts, Settings


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1, below the ephemeral range.

    Ports the kernel hands out (ephemeral ones) would race with every outgoing connection
    and with Ray's own port-0 binds between picking a port and the part binding it.
    """
    low = min(_ephemeral_range()[0], 32768)
    candidates = random.sample(range(10_000, low), k=min(low - 10_000, 50 * count))
    ports: list[int] = []
    for port in candidates:
        if len(ports) == count:
            break
        if procs.port_free(port):
            ports.append(port)
    if len(ports) < count:
        raise StackError(f"found only {len(ports)} free ports below {low}; free some or set FORGELINE_*_PORT")
    return ports


def isolated_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a throw-away stack: its own home and free ports, no external endpoints
    (`overrides` as for `Settings.replace`)."""
    names = list(LocalPorts.model_fields)
    ports = LocalPorts(**dict(zip(names, free_ports(len(names)), strict=True)))
    blank = {
        k: ""
        for k in (
            "kafka_bootstrap_servers",
            "s3_endpoint_url",
            "database_url",
            "redis_url",
            "temporal_address",
            "ray_address",
            "serve_url",
            "smtp_host",
            "otel_exporter_otlp_endpoint",
        )
    }
    return Settings().replace(home=home, local=ports, endpoints=blank, **overrides)
