"""The Grafana dashboards of the chart, declared as data and written as JSON by
`forgeline dashboards` into charts/forgeline/files/dashboards/ (the chart makes each a ConfigMap
that kube-prometheus-stack's Grafana sidecar loads). Every metric named here is exported by a
running service (tests/integration/test_monitoring.py), except Ray's own `ray_serve_*`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Panel:
    """One time series panel: PromQL expressions (legend in `{{label}}` form) and a unit."""

    title: str
    queries: tuple[tuple[str, str], ...]  # (expr, legend)
    unit: str = "short"
    description: str = ""


def p95(metric: str, by: str = "", selector: str = "") -> str:
    """The 95th percentile of a histogram over 5 minutes, per `by` label."""
    group = f"le{', ' + by if by else ''}"
    return f"histogram_quantile(0.95, sum by ({group}) (rate({metric}_bucket{selector}[5m])))"


def share(metric: str, selector: str) -> str:
    """The share of a counter's rate that matches `selector`, over 5 minutes."""
    return f"sum(rate({metric}{selector}[5m])) / sum(rate({metric}[5m]))"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


LAG = Panel(
    "Consumer lag by group", (("sum by (group) (forgeline_consumer_lag)", "{{group}}"),), description="Records not yet handled."
)
DEAD = Panel(
    "Dead letters (last hour) by topic",
    (('sum by (topic) (increase(forgeline_messages_handled_total{outcome="dead_letter"}[1h]))', "{{topic}}"),),
    description="Replay with `forgeline dlq replay <topic>` once the cause is fixed.",
)
TOKENS = Panel(
    "LLM tokens per second", (("sum by (backend, kind) (rate(forgeline_llm_tokens_total[5m]))", "{{backend}} {{kind}}"),)
)

DASHBOARDS = (
    Dashboard(
        "forgeline-overview",
        "Forgeline / Platform overview",
        "Requests, latency, errors, lag and dead letters of the whole platform.",
        (
            Panel(
                "Gateway requests per second by route",
                (("sum by (route) (rate(forgeline_http_request_seconds_count[5m]))", "{{route}}"),),
                "reqps",
            ),
            Panel(
                "Gateway latency p50 / p95 / p99",
                tuple(
                    (
                        f"histogram_quantile({q}, sum by (le) (rate(forgeline_http_request_seconds_bucket[5m])))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ),
                "s",
            ),
            Panel(
                "Gateway 5xx share",
                (
                    (
                        share("forgeline_http_request_seconds_count", '{status=~"5.."}'),
                        "5xx",
                    ),
                ),
                "percentunit",
            ),
            Panel(
                "Messages handled per second by outcome",
                (("sum by (outcome) (rate(forgeline_messages_handled_total[5m]))", "{{outcome}}"),),
                "ops",
            ),
            LAG,
            DEAD,
            Panel("Handler time p95 by consumer group", ((p95("forgeline_handler_seconds", "group"), "{{group}}"),), "s"),
            Panel("Live clients (SSE and WebSocket)", (("sum(forgeline_live_clients)", "clients"),)),
        ),
    ),
    Dashboard(
        "forgeline-images",
        "Forgeline / Image jobs",
        "The image saga: outcomes, compensations, credits, the prompt cache and Ray Serve.",
        (
            Panel(
                "Jobs finished per minute by status",
                (("sum by (status) (rate(forgeline_image_jobs_finished_total[5m])) * 60", "{{status}}"),),
            ),
            Panel(
                "Saga compensations per minute by step",
                (("sum by (step) (rate(forgeline_saga_compensations_total[5m])) * 60", "{{step}}"),),
            ),
            Panel(
                "Credits charged and refunded (last hour)",
                (("sum by (kind) (increase(forgeline_image_credits_total[1h]))", "{{kind}}"),),
            ),
            Panel(
                "Prompt cache hit rate",
                (
                    (
                        share("forgeline_image_cache_lookups_total", '{outcome="hit"}'),
                        "hits",
                    ),
                ),
                "percentunit",
            ),
            Panel("Generation time p95 (Ray Serve, queueing included)", ((p95("forgeline_image_generate_seconds"), "p95"),), "s"),
            Panel(
                "Requests per model call (batch size) p50 / p95",
                (
                    ("histogram_quantile(0.5, sum by (le) (rate(forgeline_image_batch_size_bucket[5m])))", "p50"),
                    (p95("forgeline_image_batch_size"), "p95"),
                ),
            ),
            Panel(
                "Ray Serve replicas healthy by application",
                (("sum by (application) (ray_serve_deployment_replica_healthy)", "{{application}}"),),
                description="Ray's own metric, from the Ray head (KubeRay) scrape.",
            ),
        ),
    ),
    Dashboard(
        "forgeline-email",
        "Forgeline / Marketing email",
        "Cart-abandonment emails: composition, guardrails, delivery and the LLM.",
        (
            Panel(
                "Emails composed per minute by kind",
                (("sum by (kind) (rate(forgeline_email_composed_total[5m])) * 60", "{{kind}}"),),
            ),
            Panel(
                "Fallbacks per minute by failed guardrail",
                (("sum by (check) (rate(forgeline_email_fallbacks_total[5m])) * 60", "{{check}}"),),
            ),
            Panel(
                "Delivery outcomes per minute",
                (("sum by (outcome) (rate(forgeline_email_delivery_total[5m])) * 60", "{{outcome}}"),),
            ),
            Panel("Stage time p95", ((p95("forgeline_email_stage_seconds", "stage"), "{{stage}}"),), "s"),
            TOKENS,
            Panel(
                "LLM answers that broke their schema per minute",
                (("sum by (backend) (rate(forgeline_llm_invalid_answers_total[5m])) * 60", "{{backend}}"),),
            ),
            Panel(
                "LLM application: rows per decode step, rows decoding, replicas",
                (
                    ('avg(ray_forgeline_llm_rows_per_step{application="llm"})', "rows per step (mean of replicas)"),
                    ('sum(ray_forgeline_llm_rows_active{application="llm"})', "rows decoding"),
                    ('sum(ray_serve_deployment_replica_healthy{application="llm"})', "healthy replicas"),
                ),
                description=(
                    "The built-in engine's gauges (services/llm/serve_app.py) and Ray Serve's replica health,"
                    " from the Ray head scrape."
                ),
            ),
        ),
    ),
    Dashboard(
        "forgeline-moderation",
        "Forgeline / Content moderation",
        "The tiers: who decides what, and where items wait.",
        (
            Panel(
                "Decisions per minute by tier (the tier mix)",
                (("sum by (tier) (rate(forgeline_moderation_decisions_total[5m])) * 60", "{{tier}}"),),
            ),
            Panel(
                "Decisions per minute by outcome",
                (("sum by (decision) (rate(forgeline_moderation_decisions_total[5m])) * 60", "{{decision}}"),),
            ),
            Panel(
                "Lag of the moderation tiers",
                (('sum by (group) (forgeline_consumer_lag{group=~"moderation.*"})', "{{group}}"),),
            ),
            Panel(
                "Tier handler time p95",
                (
                    (
                        p95("forgeline_handler_seconds", "group", '{group=~"moderation.*"}'),
                        "{{group}}",
                    ),
                ),
                "s",
            ),
            DEAD,
        ),
    ),
    Dashboard(
        "forgeline-codereview",
        "Forgeline / Code review",
        "Pull requests through the agent team: latency, agents, findings, reviews.",
        (
            Panel(
                "Reviews posted per hour by event",
                (("sum by (event) (increase(forgeline_reviews_posted_total[1h]))", "{{event}}"),),
            ),
            Panel(
                "Webhook to review p50 / p95",
                (
                    ("histogram_quantile(0.5, sum by (le) (rate(forgeline_review_latency_seconds_bucket[15m])))", "p50"),
                    (p95("forgeline_review_latency_seconds"), "p95"),
                ),
                "s",
            ),
            Panel("Agent time p95", ((p95("forgeline_review_agent_seconds", "agent"), "{{agent}}"),), "s"),
            Panel(
                "Findings posted (last day), top rules",
                (("topk(10, sum by (rule) (increase(forgeline_review_findings_posted_total[1d])))", "{{rule}}"),),
            ),
            Panel(
                "Findings addressed by a later push (last day)",
                (("sum by (rule) (increase(forgeline_review_findings_addressed_total[1d]))", "{{rule}}"),),
            ),
            TOKENS,
        ),
    ),
)


def grafana_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model: two panels a row, a Prometheus data source variable."""
    panels = []
    for index, panel in enumerate(dashboard.panels):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel.title,
                "description": panel.description,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "targets": [
                    {
                        "refId": chr(ord("A") + n),
                        "expr": expr,
                        "legendFormat": legend,
                        "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    }
                    for n, (expr, legend) in enumerate(panel.queries)
                ],
            }
        )
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["forgeline"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]},
        "panels": panels,
    }


def write_dashboards(folder: Path) -> list[Path]:
    """Write every dashboard's JSON into `folder` (one file each); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in DASHBOARDS:
        path = folder / f"{dashboard.uid}.json"
        path.write_text(json.dumps(grafana_json(dashboard), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def metric_names(expr: str) -> set[str]:
    """The metric families a PromQL expression reads (a histogram's `_bucket`/`_count`/`_sum` as its family)."""
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in re.findall(r"\b(?:forgeline|ray)_[a-z_]+", expr)}


def metrics_read() -> set[str]:
    """Every metric family the dashboards query."""
    return {name for d in DASHBOARDS for panel in d.panels for expr, _ in panel.queries for name in metric_names(expr)}
