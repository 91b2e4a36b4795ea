import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from forgeline.drills.chart import timeline_png
from forgeline.drills.report import html, junit, markdown

pytestmark = pytest.mark.unit


def journal(status: str = "passed", credits_ok: bool = True) -> dict[str, Any]:
    kill = {"fault": "kill the worker", "kind": "kill", "outcome": "struck", "at_s": 3.1, "ended_s": 5.2}
    return {
        "drill": "worker-killed-inside-generate",
        "proves": "a killed worker's sagas complete once",
        "status": status,
        "reason": "" if status == "passed" else "credits_conserved: charged twice",
        "duration": 61.5,
        "steady_states": {
            "before": [{"name": "the gateway answers", "ok": True, "value": 200, "detail": ""}],
            "during": [{"at_s": 2.0, "ok": True, "probes": []}, {"at_s": 4.0, "ok": False, "probes": []}],
            "after": [{"name": "the gateway answers", "ok": True, "value": 200, "detail": ""}],
        },
        "run": [{**kill, "in_flight": {"images_running": 2}}],
        "rollbacks": [{"rollback": "start imagegen-worker if it is down", "outcome": "running"}],
        "invariants": [{"name": "credits_conserved", "ok": credits_ok, "detail": "balance moved -190, ledger -190, owed -190"}],
        "recovery_s": 12.4,
        "load": {"sent": 20, "accepted": {"images": 20}, "server_errors": 0},
        "timeline": {
            "requests": [["images", i / 2, 503 if i == 7 else 202, 20.0 + i] for i in range(20)],
            "lag": [[2.0, "images", 3], [4.0, "images", 5], [6.0, "images", 0]],
            "faults": [[3.1, 5.2, "kill the worker"]],
        },
    }


def test_junit_has_a_case_per_probe_fault_and_invariant_and_fails_the_broken_ones() -> None:
    suite = ET.fromstring(junit(journal("failed", credits_ok=False)))
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [
        "steady state before: the gateway answers",
        "steady state after: the gateway answers",
        "fault: kill the worker",
        "invariant: credits_conserved",
        "verdict",
    ]
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["invariant: credits_conserved", "verdict"] and suite.get("failures") == "2"


def test_a_passed_drill_has_no_failing_case() -> None:
    assert ET.fromstring(junit(journal())).get("failures") == "0"


def test_the_report_says_what_each_fault_struck_and_how_the_invariants_fared() -> None:
    text = markdown(journal("failed", credits_ok=False))
    assert text.startswith("# Drill `worker-killed-inside-generate`: failed")
    assert "| kill the worker | kill | 3.1 | 5.2 | images_running 2 |  |" in text
    assert "| credits_conserved | **FAIL** |" in text
    assert "| during (every interval) | 1 of 2 readings |" in text
    assert "12.4 s after the last fault ended" in text


def test_the_chart_is_a_png_and_the_page_carries_it_inline(tmp_path: Path) -> None:
    chart = timeline_png(journal("failed", credits_ok=False), tmp_path / "timeline.png")
    assert chart.read_bytes().startswith(b"\x89PNG")
    page = html(journal("failed", credits_ok=False), chart)
    assert page.startswith("<!doctype html>") and "src='data:image/png;base64," in page
    assert "<td>credits_conserved</td><td>FAIL</td>" in page and "<td>kill the worker</td>" in page


def test_the_page_escapes_what_the_journal_carries() -> None:
    bad = journal("failed") | {"reason": "<script>alert(1)</script>"}
    assert "<script>" not in html(bad, None)
