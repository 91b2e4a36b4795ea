"""Every metric the chart's alerts and dashboards read is one a running service really exports."""

import re
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from forgeline.monitoring.dashboards import metrics_read
from forgeline.stack import Stack

pytestmark = pytest.mark.integration

ALERTS = Path(__file__).resolve().parents[2] / "charts" / "forgeline" / "files" / "alerts.yaml"


async def exported(stack: Stack) -> set[str]:
    """The metric families on every part's /metrics (parts without one are skipped)."""
    names: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as http:
        for part in stack.load_state()["components"].values():
            endpoint = str(part.get("endpoint", ""))
            if not endpoint.startswith("http://"):
                continue
            try:
                response = await http.get(f"{endpoint.rstrip('/')}/metrics")
            except httpx.HTTPError:
                continue
            if response.status_code == 200 and "# TYPE" in response.text:
                names |= {family.name for family in text_string_to_metric_families(response.text)}
    return names


async def test_every_metric_an_alert_reads_is_exported(stack: Stack) -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    read = {
        re.sub(r"_(count|sum|bucket)$", "", name)
        for rule in rules
        for name in re.findall(r"\b[a-z_]+_[a-z_]+(?=[{\[ )])", rule["expr"])
    }
    read = {name for name in read if name.startswith("forgeline_")}  # not Ray's own (ray_serve_...)
    assert len(read) >= 6, read
    names = await exported(stack)
    # The parser names a counter's family without `_total`.
    missing = {name for name in read if name not in names and name.removesuffix("_total") not in names}
    assert not missing, f"alerts read metrics no service exports: {sorted(missing)}"


async def test_every_metric_a_dashboard_panel_queries_is_exported(stack: Stack) -> None:
    read = {name for name in metrics_read() if name.startswith("forgeline_")}  # not Ray's own (ray_serve_...)
    names = await exported(stack)
    missing = {name for name in read if name not in names and name.removesuffix("_total") not in names}
    assert not missing, f"dashboard panels query metrics no service exports: {sorted(missing)}"
