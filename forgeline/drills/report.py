"""A drill's journal as the files people and CI read: JUnit XML (one test case per probe,
fault and invariant), a Markdown report, and a self-contained HTML page with the timeline chart."""

from __future__ import annotations

import base64
import html as html_lib
import xml.etree.ElementTree as ET
from pathlib import Path
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
        if load.get("locust"):
            lines += ["| " + " | ".join(LOCUST_HEAD) + " |", "| --- " * len(LOCUST_HEAD) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in locust_rows(journal)]
            lines.append("")
    if journal["run"]:
        lines += ["| fault | kind | struck at (s) | ended (s) | in flight | did |", "| --- | --- | --- | --- | --- | --- |"]
        for row in fault_rows(journal):
            lines.append("| " + " | ".join(row) + " |")
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


LOCUST_HEAD = ["pipeline", "requests", "failures", "rate/s", "p50 ms", "p95 ms", "p99 ms"]


def locust_rows(journal: dict[str, Any]) -> list[list[str]]:
    """Locust's own stats, a row per pipeline."""
    keys = ("requests", "failures", "rate_per_s", "p50_ms", "p95_ms", "p99_ms")
    return [[name, *(f"{row[k]:g}" for k in keys)] for name, row in journal["load"]["locust"].items()]


def fault_rows(journal: dict[str, Any]) -> list[list[str]]:
    """Each fault: name, kind, struck at, ended, what was in flight (or why it did not strike), what it did."""
    rows = []
    for entry in journal["run"]:
        flight = ", ".join(f"{k} {v}" for k, v in (entry.get("in_flight") or {}).items()) or "nothing"
        struck = flight if entry["outcome"] == "struck" else entry["outcome"]
        at, ended = entry.get("at_s", "—"), entry.get("ended_s", "—")
        rows.append([entry["fault"], entry["kind"], str(at), str(ended), struck, entry.get("did") or ""])
    return rows


def html(journal: dict[str, Any], chart: Path | None) -> str:
    """One self-contained page (the chart inlined as a data URI): verdict, chart, faults,
    invariants, steady state and rollbacks."""
    e = html_lib.escape
    status = journal["status"]
    colour = {"passed": "#1a7f37", "skipped": "#6e7781"}.get(status, "#cf222e")

    def table(head: list[str], rows: list[list[str]]) -> str:
        cells = "".join(f"<tr>{''.join(f'<td>{e(c)}</td>' for c in row)}</tr>" for row in rows)
        return f"<table><tr>{''.join(f'<th>{e(h)}</th>' for h in head)}</tr>{cells}</table>"

    parts = [
        f"<h1>Drill <code>{e(journal['drill'])}</code>: <span style='color:{colour}'>{e(status)}</span></h1>",
        f"<p>Proves: {e(journal['proves'])}.</p>",
    ]
    if journal["reason"]:
        parts.append(f"<p><strong>Reason:</strong> {e(journal['reason'])}</p>")
    if journal["load"].get("locust"):
        parts += ["<h2>Load (Locust)</h2>", table(LOCUST_HEAD, locust_rows(journal))]
    if chart is not None and chart.exists():
        data = base64.b64encode(chart.read_bytes()).decode()
        parts.append(
            f"<img alt='timeline: throughput, p99 latency, errors and lag, faults shaded' src='data:image/png;base64,{data}'>"
        )
    if journal["run"]:
        parts += [
            "<h2>Faults</h2>",
            table(["fault", "kind", "struck at (s)", "ended (s)", "in flight", "did"], fault_rows(journal)),
        ]
    if journal["recovery_s"] is not None:
        parts.append(f"<p>Recovery: every accepted request terminal {journal['recovery_s']} s after the last fault ended.</p>")
    if journal["invariants"]:
        rows = [[v["name"], "pass" if v["ok"] else "FAIL", v["detail"]] for v in journal["invariants"]]
        parts += ["<h2>Invariants</h2>", table(["invariant", "result", "detail"], rows)]
    during = journal["steady_states"]["during"]
    rows = [
        ["before", _held(journal["steady_states"]["before"])],
        ["during (every interval)", f"{sum(1 for r in during if r['ok'])} of {len(during)} readings"],
        ["after", _held(journal["steady_states"]["after"])],
    ]
    parts += ["<h2>Steady state</h2>", table(["phase", "probes held"], rows)]
    if journal["rollbacks"]:
        parts += [
            "<h2>Rollbacks</h2>",
            table(["rollback", "outcome"], [[r["rollback"], r["outcome"]] for r in journal["rollbacks"]]),
        ]
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#1f2328}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #d0d7de;padding:4px 8px;"
        "text-align:left;vertical-align:top;font-size:14px}th{background:#f6f8fa}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>drill {e(journal['drill'])}: {e(status)}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
