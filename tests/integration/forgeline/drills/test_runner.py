"""Drills from the catalogue, run by the runner against the test stack: the verdict, what each
fault struck, and the invariants read where the effects happen."""

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from forgeline.drills.catalogue import find
from forgeline.drills.runner import run_drill, write_report
from forgeline.stack import Stack

pytestmark = pytest.mark.drill


async def run(stack: Stack, name: str) -> dict[str, Any]:
    said: list[str] = []
    journal = await run_drill(stack, find(name), said.append)
    assert journal["rollbacks"], f"no strike: {journal['status']}: {journal['reason']}"
    return journal


async def test_worker_killed_inside_generate_passes_and_struck_running_sagas(stack: Stack, tmp_path: Path) -> None:
    journal = await run(stack, "worker-killed-inside-generate")
    report = write_report(tmp_path / "report", journal)
    assert ET.parse(report / "junit.xml").getroot().get("failures") == "0"
    assert "passed" in (report / "report.md").read_text().splitlines()[0]
    assert journal["status"] == "passed", journal["reason"]
    kill = next(entry for entry in journal["run"] if entry["kind"] == "kill")
    assert kill["in_flight"].get("images_running", 0) >= 1, kill
    assert {v["name"] for v in journal["invariants"] if v["ok"]} == set(find("worker-killed-inside-generate").invariants)
    assert journal["load"]["accepted"]["images"] == journal["load"]["sent"]
    flags = stack.faults_file.read_text() if stack.faults_file.exists() else ""
    assert "imagegen.generate" not in flags, "the drill's fault flag was cleared"


async def test_classifier_killed_with_items_in_flight_decides_each_item_once(stack: Stack) -> None:
    journal = await run(stack, "classifier-killed-with-items-in-flight")
    assert journal["status"] == "passed", journal["reason"]
    kill = next(entry for entry in journal["run"] if entry["kind"] == "kill")
    assert kill["in_flight"], kill
    assert all(v["ok"] for v in journal["invariants"]), journal["invariants"]


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
