"""The Grafana dashboard, generated: ``python -m wiredesk.dashboard [--out FILE]``.

Why code and not a hand-edited JSON export: every panel's query is listed here with the labels
its series must carry, so a test can run each one against a Prometheus that scraped a live
pipeline (tests/monitoring/test_live_prometheus.py) and another can check that the committed
``deploy/monitoring/dashboard.json`` is exactly what this module generates. A query that names a
metric nobody exports, or aggregates a label away that its legend uses, fails there instead of
showing "No data" in production.

Panels that show a counter which stays absent until its first increment (failures, reclaims,
dead letters) add ``or ... * 0`` over a gauge every stage exports, so they show zeros, not
"No data", on a healthy pipeline.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

UID = "wiredesk"
RATE = "$__rate_interval"
STAGE = 'stage=~"$stage"'
ZERO_PER_STAGE = f"max by (stage) (wiredesk_group_pending{{{STAGE}}}) * 0"
"""One 0-valued series per stage, for ``or``: the counters below appear only when they move."""


@dataclass(frozen=True)
class Query:
    """One panel target: the PromQL, its legend, and the labels its series must have."""

    expr: str
    legend: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    extra: dict[str, Any] = field(default_factory=dict)


def _q(expr: str, legend: str, *labels: str) -> Query:
    return Query(expr, legend, labels)


PANELS: tuple[Panel, ...] = (
    Panel(
        "Targets up",
        "1 when Prometheus scraped the target; WiredeskServiceDown fires after 1 min at 0.",
        (_q('up{job=~"wiredesk-.*|redis"}', "{{job}} {{instance}}", "job", "instance"),),
        kind="stat",
    ),
    Panel(
        "Ready",
        "wiredesk_ready: 1 when /readyz answers 200 (Redis reachable; the API's database current).",
        (_q("wiredesk_ready", "{{job}} {{instance}}", "job", "instance"),),
        kind="stat",
    ),
    Panel(
        "Throughput by stage and outcome",
        "Entries handled to completion per second.",
        (
            _q(
                f"sum by (stage, outcome) (rate(wiredesk_processed_total{{{STAGE}}}[{RATE}]))",
                "{{stage}} {{outcome}}",
                "stage",
                "outcome",
            ),
        ),
        unit="ops",
    ),
    Panel(
        "Group lag",
        "Input entries not yet delivered to the group, summed over partitions "
        "(alert: WiredeskGroupLagGrowing).",
        (
            _q(
                f"sum by (stage) (max by (stage, partition) (wiredesk_group_lag{{{STAGE}}}))",
                "{{stage}}",
                "stage",
            ),
        ),
    ),
    Panel(
        "Pending entries",
        "Delivered to the group, not yet acknowledged, summed over partitions.",
        (
            _q(
                f"sum by (stage) (max by (stage, partition) (wiredesk_group_pending{{{STAGE}}}))",
                "{{stage}}",
                "stage",
            ),
        ),
    ),
    Panel(
        "Oldest pending entry",
        "Age of the oldest pending entry (alert: WiredeskOldestPendingGrowing above 5 min).",
        (
            _q(
                f"max by (stage) (wiredesk_group_oldest_pending_seconds{{{STAGE}}})",
                "{{stage}}",
                "stage",
            ),
        ),
        unit="s",
    ),
    Panel(
        "Batch latency",
        "Time to handle one batch, p50 and p99 over the rate interval.",
        tuple(
            _q(
                f"histogram_quantile({q}, sum by (stage, le) "
                f"(rate(wiredesk_batch_seconds_bucket{{{STAGE}}}[{RATE}])))",
                f"{{{{stage}}}} p{int(q * 100)}",
                "stage",
            )
            for q in (0.5, 0.99)
        ),
        unit="s",
    ),
    Panel(
        "Failures and reclaims",
        "Handling that raised (retried), and entries reclaimed from idle consumers.",
        (
            _q(
                f"sum by (stage) (rate(wiredesk_failed_total{{{STAGE}}}[{RATE}]))"
                f" or {ZERO_PER_STAGE}",
                "{{stage}} failed",
                "stage",
            ),
            _q(
                f"sum by (stage) (rate(wiredesk_reclaimed_total{{{STAGE}}}[{RATE}]))"
                f" or {ZERO_PER_STAGE}",
                "{{stage}} reclaimed",
                "stage",
            ),
        ),
        unit="ops",
    ),
    Panel(
        "Dead letters (in the dashboard's time range)",
        "Entries moved to articles:dlq, by stage and reason (alert: WiredeskDeadLetters).",
        (
            _q(
                f"sum by (stage, reason) (wiredesk_dead_lettered_total{{{STAGE}}})",
                "{{stage}} {{reason}}",
                "stage",
                "reason",
            ),
        ),
        kind="bargauge",
    ),
    Panel(
        "Characters removed by ingest",
        "Boilerplate ingest stripped, by rule, per second.",
        (
            _q(
                f"sum by (kind) (rate(wiredesk_chars_removed_total[{RATE}]))",
                "{{kind}}",
                "kind",
            ),
        ),
        unit="cps",
    ),
    Panel(
        "Stream lengths",
        "Entries in each stream (redis_exporter); they shrink when consumed entries are trimmed.",
        (_q('redis_stream_length{stream=~".*articles:.*"}', "{{stream}}", "stream"),),
    ),
    Panel(
        "Pending per group (Redis)",
        "The same pending counts as Redis reports them, per stream and group.",
        (
            _q(
                'redis_stream_group_messages_pending{stream=~".*articles:.*"}',
                "{{stream}} / {{group}}",
                "stream",
                "group",
            ),
        ),
    ),
    Panel(
        "Redis memory",
        "Used memory against maxmemory (0 = none; alert: WiredeskRedisMemoryNearMax at 85 %).",
        (
            _q("redis_memory_used_bytes", "used {{instance}}", "instance"),
            _q("redis_memory_max_bytes", "maxmemory {{instance}}", "instance"),
        ),
        unit="bytes",
    ),
    Panel(
        "Service memory (RSS)",
        "Resident memory per process; the Kubernetes requests come from these numbers.",
        (
            _q(
                'process_resident_memory_bytes{job=~"wiredesk-.*"}',
                "{{job}} {{instance}}",
                "job",
                "instance",
            ),
        ),
        unit="bytes",
    ),
    Panel(
        "Service CPU",
        "CPU seconds per second per process.",
        (
            _q(
                f'rate(process_cpu_seconds_total{{job=~"wiredesk-.*"}}[{RATE}])',
                "{{job}} {{instance}}",
                "job",
                "instance",
            ),
        ),
        unit="percentunit",
    ),
    Panel(
        "API requests",
        "Read API requests per second by route template and status.",
        (
            _q(
                f"sum by (route, status) (rate(wiredesk_api_requests_total[{RATE}]))",
                "{{route}} {{status}}",
                "route",
                "status",
            ),
        ),
        unit="reqps",
    ),
    Panel(
        "API latency p99",
        "Time until the response starts, by route.",
        (
            _q(
                "histogram_quantile(0.99, sum by (route, le) "
                f"(rate(wiredesk_api_request_seconds_bucket[{RATE}])))",
                "{{route}}",
                "route",
            ),
        ),
        unit="s",
    ),
)


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "list"}},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "expr": query.expr,
                "legendFormat": query.legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for n, query in enumerate(panel.queries)
        ],
        **panel.extra,
    }


def dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (import it, or provision it from the file)."""
    panels: list[dict[str, Any]] = []
    x = y = 0
    for panel_id, panel in enumerate(PANELS, start=1):
        if x + panel.width > 24:
            x, y = 0, y + 8
        panels.append(_panel_json(panel, panel_id, x, y))
        x += panel.width
    return {
        "uid": UID,
        "title": "wiredesk",
        "description": "The wiredesk pipeline: stages, streams, Redis, the read API "
        "(generated by python -m wiredesk.dashboard; docs/operations.md)",
        "tags": ["wiredesk"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                },
                {
                    "name": "stage",
                    "label": "Stage",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(wiredesk_group_lag, stage)",
                    "refresh": 2,
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "panels": panels,
        "annotations": {"list": []},
    }


def render() -> bytes:
    return orjson.dumps(dashboard(), option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m wiredesk.dashboard",
        description="Write wiredesk's Grafana dashboard JSON (stdout, or --out FILE).",
    )
    parser.add_argument("--out", type=Path, help="e.g. deploy/monitoring/dashboard.json")
    args = parser.parse_args(argv)
    data = render()
    if args.out is None:
        print(data.decode(), end="")
    else:
        args.out.write_bytes(data)


if __name__ == "__main__":
    main()
