"""The chart's Grafana dashboards: the committed JSON is what forgeline/monitoring/dashboards.py
declares, and the chart ships each as a ConfigMap the Grafana sidecar loads."""

import json
from pathlib import Path

import pytest

from forgeline.monitoring.dashboards import DASHBOARDS, write_dashboards
from tests.contract.charts.test_forgeline_chart import REPO, render

pytestmark = pytest.mark.contract

COMMITTED = REPO / "charts" / "forgeline" / "files" / "dashboards"


def test_the_committed_dashboards_are_the_declared_ones(tmp_path: Path) -> None:
    written = {path.name: path.read_text() for path in write_dashboards(tmp_path)}
    committed = {path.name: path.read_text() for path in COMMITTED.glob("*.json")}
    assert committed == written, "the dashboards changed: run `forgeline dashboards` and commit the files"


def test_one_dashboard_per_pipeline_and_an_overview_each_panel_querying_something() -> None:
    assert {d.uid for d in DASHBOARDS} == {
        "forgeline-overview",
        "forgeline-images",
        "forgeline-email",
        "forgeline-moderation",
        "forgeline-codereview",
    }
    for dashboard in DASHBOARDS:
        assert dashboard.panels and all(panel.queries for panel in dashboard.panels), dashboard.uid


def test_the_chart_ships_them_as_labelled_config_maps_when_asked() -> None:
    assert not [o for o in render("default") if o["kind"] == "ConfigMap" and "grafana_dashboard" in o["metadata"]["labels"]]
    maps = [o for o in render("eks") if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_dashboard") == "1"]
    shipped = {name: json.loads(text) for m in maps for name, text in m["data"].items()}
    assert shipped == {path.name: json.loads(path.read_text()) for path in COMMITTED.glob("*.json")}
