"""A drill's journal as the files people and CI read: JUnit XML (one test case per probe,
fault and invariant) and a Markdown report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def junit(journal: dict[str, Any]) -> str:
    """JUnit XML: a failing case for each probe that did not hold, fault that struck nothing
    and invariant that broke; the drill's own status as one more case."""
    cases: list[tuple[str, str | None]] = []
    for phase in ("before", "after"):
        for probe in journal["steady_states"][phase]:
            cases.append((f"steady state {phase}: {probe['name']}", None if probe["ok"] else _probe_failure(probe)))
    for entry in journal["run"]:
        struck = entry["outcome"] == "struck"
        cases.append((f"fault: {entry['fault']}", None if struck else entry["outcome"]))
    for invariant in journal["invariants"]:
        cases.append((f"invariant: {invariant['name']}", None if invariant["ok"] else invariant["detail"]))
    cases.append(("verdict", None if journal["status"] == "passed" else f"{journal['status']}: {journal['reason']}"))
    suite = ET.Element(
        "testsuite",
        name=f"drill {journal['drill']}",
        tests=str(len(cases)),
        failures=str(sum(1 for _, failure in cases if failure is not None)),
        time=str(journal["duration"]),
    )
    for name, failure in cases:
        case = ET.SubElement(suite, "testcase", classname=f"drills.{journal['drill']}", name=name)
        if failure is not None:
            ET.SubElement(case, "failure", message=failure[:500]).text = failure
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _probe_failure(probe: dict[str, Any]) -> str:
    return probe["detail"] or f"read {probe['value']}"


def markdown(journal: dict[str, Any]) -> str:
    """The report a person reads: verdict, faults with what they struck, invariants, recovery."""
    ok = {True: "pass", False: "**FAIL**"}
    lines = [
        f"# Drill `{journal['drill']}`: {journal['status']}",
        "",
        f"Proves: {journal['proves']}.",
        "",
    ]
    if journal["reason"]:
        lines += [f"Reason: {journal['reason']}", ""]
    load = journal["load"]
    if load:
        accepted = ", ".join(f"{name} {n}" for name, n in load["accepted"].items())
        lines += [f"Load: {load['sent']} requests sent, accepted: {accepted}; 5xx or unanswered: {load['server_errors']}.", ""]
    if journal["run"]:
        lines += ["| fault | kind | struck at (s) | ended (s) | in flight |", "| --- | --- | --- | --- | --- |"]
        for entry in journal["run"]:
            flight = ", ".join(f"{k} {v}" for k, v in (entry.get("in_flight") or {}).items()) or "nothing"
            struck = flight if entry["outcome"] == "struck" else entry["outcome"]
            at, ended = entry.get("at_s", "—"), entry.get("ended_s", "—")
            lines.append(f"| {entry['fault']} | {entry['kind']} | {at} | {ended} | {struck} |")
        lines.append("")
    if journal["recovery_s"] is not None:
        lines += [f"Recovery: every accepted request terminal {journal['recovery_s']} s after the last fault ended.", ""]
    if journal["invariants"]:
        lines += ["| invariant | result | detail |", "| --- | --- | --- |"]
        lines += [f"| {v['name']} | {ok[v['ok']]} | {v['detail']} |" for v in journal["invariants"]]
        lines.append("")
    during = journal["steady_states"]["during"]
    held = sum(1 for reading in during if reading["ok"])
    lines += [
        "| steady state | probes held |",
        "| --- | --- |",
        f"| before | {_held(journal['steady_states']['before'])} |",
        f"| during (every interval) | {held} of {len(during)} readings |",
        f"| after | {_held(journal['steady_states']['after'])} |",
        "",
    ]
    if journal["rollbacks"]:
        lines += ["Rollbacks: " + "; ".join(f"{r['rollback']}: {r['outcome']}" for r in journal["rollbacks"]) + ".", ""]
    return "\n".join(lines)


def _held(results: list[dict[str, Any]]) -> str:
    return f"{sum(1 for r in results if r['ok'])} of {len(results)}" if results else "not read"
