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
