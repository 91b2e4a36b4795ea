"""`forgeline trace ID`: one end-to-end tree from the JSONL spans every service writes."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def load_spans(traces_dir: Path) -> list[dict[str, Any]]:
    """Every span recorded under `.forgeline/traces/`."""
    spans = []
    for path in sorted(traces_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                try:
                    spans.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash
    return spans


def find_traces(spans: list[dict[str, Any]], ident: str) -> set[str]:
    """Trace ids of spans whose trace id, or any attribute value, contains `ident`."""
    found = set()
    for span in spans:
        if span["trace_id"] == ident or any(ident in str(v) for v in span.get("attributes", {}).values()):
            found.add(span["trace_id"])
    return found


def render_tree(spans: list[dict[str, Any]], trace_ids: set[str]) -> list[str]:
    """Indented lines, parents before children, siblings by start time."""
    chosen = [s for s in spans if s["trace_id"] in trace_ids]
    ids = {s["span_id"] for s in chosen}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in chosen:
        parent = span["parent_id"] if span["parent_id"] in ids else None
        children[parent].append(span)
    t0 = min((s["start_ns"] for s in chosen), default=0)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children[parent], key=lambda s: s["start_ns"]):
            took = (span["end_ns"] - span["start_ns"]) / 1e6
            at = (span["start_ns"] - t0) / 1e6
            flag = "" if span["status"] != "ERROR" else "  [ERROR]"
            lines.append(f"{'  ' * depth}{span['service']}: {span['name']}  +{at:.1f}ms  {took:.1f}ms{flag}")
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return lines
