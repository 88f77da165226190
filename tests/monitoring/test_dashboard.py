"""The committed dashboard is what wiredesk.dashboard generates, and it is well formed.

Whether each query returns data is checked against a live Prometheus in test_live_prometheus.py.
"""

from __future__ import annotations

import re

import orjson

from tests.monitoring.promtool import MONITORING
from wiredesk import dashboard

COMMITTED = MONITORING / "dashboard.json"


def test_the_committed_json_is_the_generated_one() -> None:
    assert COMMITTED.read_bytes() == dashboard.render(), (
        "deploy/monitoring/dashboard.json is stale: "
        "python -m wiredesk.dashboard --out deploy/monitoring/dashboard.json"
    )


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = orjson.loads(COMMITTED.read_bytes())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not mine & cells, panel["title"]
        cells |= mine


def test_every_target_uses_the_datasource_variable_and_legends_name_kept_labels() -> None:
    for panel in dashboard.PANELS:
        assert panel.queries and panel.description, panel.title
        for query in panel.queries:
            legend_labels = set(re.findall(r"\{\{(\w+)\}\}", query.legend))
            assert legend_labels <= set(query.labels), (panel.title, query.legend)
    for panel in orjson.loads(COMMITTED.read_bytes())["panels"]:
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
