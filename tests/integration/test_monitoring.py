"""Every metric the chart's alerts and dashboards read is one a running service really exports."""

from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from forgeline.monitoring.dashboards import metric_names, metrics_read
from forgeline.stack import Stack

pytestmark = pytest.mark.integration

ALERTS = Path(__file__).resolve().parents[2] / "charts" / "forgeline" / "files" / "alerts.yaml"


async def unexported(stack: Stack, read: set[str]) -> set[str]:
    """Which of the `forgeline_` metrics in `read` no part's /metrics has (Ray's own `ray_serve_...`
    come from Ray, not from a Forgeline service; parts without /metrics are skipped)."""
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
    # The parser names a counter's family without `_total`.
    ours = {name for name in read if name.startswith("forgeline_")}
    return {name for name in ours if name not in names and name.removesuffix("_total") not in names}


async def test_every_metric_an_alert_reads_is_exported(stack: Stack) -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    read = {name for rule in rules for name in metric_names(rule["expr"])}
    assert len(read) >= 6, read
    missing = await unexported(stack, read)
    assert not missing, f"alerts read metrics no service exports: {sorted(missing)}"


async def test_every_metric_a_dashboard_panel_queries_is_exported(stack: Stack) -> None:
    missing = await unexported(stack, metrics_read())
    assert not missing, f"dashboard panels query metrics no service exports: {sorted(missing)}"
