"""A drill's timeline as a PNG: per pipeline, accepted requests per second, p99 latency, errors
(5xx or unanswered) per second and intake consumer lag, one panel each on a shared time axis,
with every fault window shaded and named."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

COLOURS = {"images": "#1f77b4", "content": "#2ca02c", "echo": "#9467bd", "carts": "#ff7f0e", "pull_requests": "#8c564b"}
FAULT_SHADE = "#d62728"


def _per_second(requests: list[list[Any]], pipeline: str, horizon: int) -> tuple[list[int], list[float], list[int]]:
    """Accepted per second, p99 latency (ms, NaN where none) and errors per second."""
    accepted, errors = [0] * horizon, [0] * horizon
    latencies: dict[int, list[float]] = defaultdict(list)
    for name, at_s, status, latency_ms in requests:
        if name != pipeline:
            continue
        second = min(int(at_s), horizon - 1)
        if status == 202:
            accepted[second] += 1
        if status >= 500 or status == 0:
            errors[second] += 1
        latencies[second].append(latency_ms)
    p99 = []
    for second in range(horizon):
        values = sorted(latencies.get(second, []))
        p99.append(values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)] if values else math.nan)
    return accepted, p99, errors


def timeline_png(journal: dict[str, Any], path: Path) -> Path:
    """Draw the journal's timeline into `path` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    timeline = journal.get("timeline") or {}
    requests, lag, faults = timeline.get("requests", []), timeline.get("lag", []), timeline.get("faults", [])
    ends = [r[1] for r in requests] + [row[0] for row in lag] + [f[1] for f in faults]
    horizon = max(1, math.ceil(max(ends, default=1.0)))
    pipelines = sorted({r[0] for r in requests} | {row[1] for row in lag})
    seconds = list(range(horizon))

    height_ratios = [3, 3, 2, 3, 0.35 * max(1, len(faults))]
    fig, all_axes = plt.subplots(
        5, 1, figsize=(10, 9 + 0.3 * len(faults)), constrained_layout=True, gridspec_kw={"height_ratios": height_ratios}
    )
    axes, key = all_axes[:4], all_axes[4]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    titles = ("accepted requests / s", "p99 latency of the gateway's answer (ms)", "5xx or unanswered / s", "intake consumer lag")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(True, alpha=0.3)
        for start, end, _name in faults:
            ax.axvspan(start, max(end, start + 0.3), color=FAULT_SHADE, alpha=0.12, linewidth=0)
    for pipeline in pipelines:
        colour = COLOURS.get(pipeline, "#7f7f7f")
        accepted, p99, errors = _per_second(requests, pipeline, horizon)
        axes[0].step(seconds, accepted, where="post", color=colour, label=pipeline)
        axes[1].plot(seconds, p99, marker=".", color=colour, label=pipeline)
        axes[2].step(seconds, errors, where="post", color=colour, label=pipeline)
        readings = [(row[0], row[2]) for row in lag if row[1] == pipeline]
        if readings:
            axes[3].plot([r[0] for r in readings], [r[1] for r in readings], marker=".", color=colour, label=pipeline)
    for number, (start, _end, _name) in enumerate(faults, 1):
        axes[0].annotate(
            f"F{number}",
            (start, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=9,
            color=FAULT_SHADE,
            xytext=(2, -2),
            textcoords="offset points",
            va="top",
            fontweight="bold",
        )
    for ax in axes:
        ax.set_ylim(bottom=0, top=max(1.0, ax.get_ylim()[1]))
    if pipelines:
        axes[0].legend(loc="lower right", fontsize=8)
    axes[3].set_xlabel("seconds since the load started (shaded: fault windows)")
    key.axis("off")
    lines = [f"F{n}  {start:.1f}-{end:.1f} s  {name}" for n, (start, end, name) in enumerate(faults, 1)] or ["no fault struck"]
    key.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=9, color=FAULT_SHADE, transform=key.transAxes)
    fig.suptitle(f"drill {journal['drill']}: {journal['status']}", fontsize=12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
