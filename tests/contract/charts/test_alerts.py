"""The chart's alerts: valid rules (promtool check), each firing on the series that should fire
it and quiet on its near miss (promtool test), each with a runbook, shipped as a PrometheusRule."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.contract.charts.test_forgeline_chart import REPO, render

pytestmark = pytest.mark.contract

FILES = REPO / "charts" / "forgeline" / "files"
RULES = FILES / "alerts.yaml"
RUNBOOKS = REPO / "docs" / "runbooks.md"


def alerts() -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make host-tools` installs Debian's prometheus package"
    done = subprocess.run([tool, *args], cwd=FILES, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid() -> None:
    assert f"SUCCESS: {len(alerts())} rules found" in promtool("check", "rules", RULES.name)


def test_every_alert_fires_in_the_unit_tests() -> None:
    tests = yaml.safe_load((FILES / "alerts.test.yaml").read_text())
    fired = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert fired == {a["alert"] for a in alerts()}
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yaml")


def test_every_alert_has_a_runbook_section() -> None:
    sections = {heading.lower() for heading in re.findall(r"^## (\w+)$", RUNBOOKS.read_text(), re.MULTILINE)}
    for alert in alerts():
        annotations = alert["annotations"]
        assert isinstance(annotations, dict)
        assert annotations["runbook"] == f"docs/runbooks.md#{str(alert['alert']).lower()}"
        assert str(alert["alert"]).lower() in sections


def test_the_chart_ships_them_as_a_prometheus_rule_when_asked() -> None:
    assert not [o for o in render("default") if o["kind"] == "PrometheusRule"]
    [rule] = [o for o in render("eks") if o["kind"] == "PrometheusRule"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
