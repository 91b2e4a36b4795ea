"""The one telemetry setup: OpenTelemetry traces and Prometheus metrics for every service.

Traces go to OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else to a JSONL file per
service under `.forgeline/traces/`, which `forgeline trace ID` renders as one tree.
Span attributes never carry secrets or personal data: ids and counts only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import Counter, Gauge, Histogram

from services.common.events import Event
from services.common.settings import Settings

# Platform metrics (the FastStream and HTTP middlewares add their own beside these).
MESSAGES_HANDLED = Counter(
    "forgeline_messages_handled_total",
    "Messages a consumer finished, by outcome (ok, duplicate, retry, dead_letter).",
    ["topic", "group", "outcome"],
)
HANDLER_SECONDS = Histogram("forgeline_handler_seconds", "Time in a message handler.", ["topic", "group"])
CONSUMER_LAG = Gauge(
    "forgeline_consumer_lag", "Records behind the high-water mark, per partition.", ["topic", "partition", "group"]
)


class JsonlSpanExporter(SpanExporter):
    """Appends finished spans as JSON lines to one file (one file per service)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(span_to_dict(s), default=str) for s in spans]
        with self._lock:
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def span_to_dict(span: ReadableSpan) -> dict[str, object]:
    """The JSONL record of one span (what `forgeline trace` reads)."""
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "trace_id": format(ctx.trace_id, "032x") if ctx else "",
        "span_id": format(ctx.span_id, "016x") if ctx else "",
        "parent_id": format(parent.span_id, "016x") if parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name", ""),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


_provider: TracerProvider | None = None


def setup_telemetry(settings: Settings, service: str) -> TracerProvider:
    """Install the tracer provider for this process (idempotent) and return it."""
    global _provider
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter: SpanExporter
    if settings.endpoints.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = JsonlSpanExporter(settings.state_dir / "traces" / f"{service}.jsonl")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_telemetry() -> None:
    """Flush and stop span export (call at service shutdown)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def mark_event(event: Event) -> None:
    """Tag the span handling a consumed event with its id and its entity's (the echo, job,
    run ...), so `forgeline trace ID` finds the whole tree, from the HTTP request on, by
    either id. Only the consumer tags: tagging at publish would overwrite the consumed
    event's ids on a handler's span with those of what it publishes."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({"forgeline.event_id": str(event.event_id), "forgeline.entity_id": event.key().decode()})


def tracer(name: str) -> trace.Tracer:
    """A tracer for spans around model calls and other work inside a service."""
    return trace.get_tracer(name)
