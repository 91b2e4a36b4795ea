"""Drills from the catalogue, run by the runner against the test stack: the verdict, what each
fault struck, and the invariants read where the effects happen."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from forgeline.drills.catalogue import catalogue, find
from forgeline.drills.runner import run_drill, write_report
from forgeline.stack import Stack

pytestmark = pytest.mark.drill


SMOKE = sorted(name for name, drill in catalogue().items() if drill.smoke)


@pytest.mark.parametrize("name", SMOKE)
async def test_each_smoke_drill_passes_having_struck_work_in_flight(stack: Stack, name: str, tmp_path: Path) -> None:
    drill = find(name)
    journal = await run_drill(stack, drill, print)
    assert journal["status"] == "passed", journal["reason"]
    for fault, entry in zip(drill.method, journal["run"], strict=True):
        assert entry["outcome"] == "struck", entry
        assert entry["in_flight"] or not fault.disrupts, f"{fault.name} struck nothing in flight"
    assert {v["name"] for v in journal["invariants"] if v["ok"]} == set(drill.invariants)
    assert journal["rollbacks"] and all(not r["outcome"].startswith("failed") for r in journal["rollbacks"])
    flags = stack.faults_file.read_text() if stack.faults_file.exists() else ""
    assert not any(rule in flags for f in drill.method if f.flag for rule in f.flag.rules), "the drill's fault flags were cleared"
    report = write_report(tmp_path / "report", journal)
    assert ET.parse(report / "junit.xml").getroot().get("failures") == "0"
    assert "passed" in (report / "report.md").read_text().splitlines()[0]
    assert (report / "timeline.png").read_bytes().startswith(b"\x89PNG")
    assert "data:image/png;base64," in (report / "report.html").read_text()


PLANTED = """\
name: refund-skipped
proves: a failed image job that keeps its credits is caught by the ledger invariant
steady_state:
  probes:
    - name: the gateway answers
      http: {path: /healthz}
workload:
  duration_s: 4
  seed: 5
  pipelines:
    images: {rate_per_s: 1}
method:
  - name: generation always fails, and the refund is skipped (a planted defect)
    trigger: {at_s: 0}
    flag: {rules: ["imagegen.generate: fail 100%", "imagegen.refund: skip"], seconds: 60}
invariants: [every_request_terminal, credits_conserved]
"""


async def test_a_planted_defect_that_keeps_credits_fails_the_drill(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "refund-skipped.yaml"
    path.write_text(PLANTED)
    journal = await run_drill(stack, find(str(path)), print)
    assert journal["status"] == "failed", journal
    verdicts = {v["name"]: v for v in journal["invariants"]}
    assert verdicts["every_request_terminal"]["ok"], verdicts
    assert not verdicts["credits_conserved"]["ok"] and "charged 10, owed 0" in verdicts["credits_conserved"]["detail"]
    flags = stack.faults_file.read_text() if stack.faults_file.exists() else ""
    assert "imagegen.refund" not in flags, "the rollback cleared the planted defect"
