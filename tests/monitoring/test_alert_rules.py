"""The alert rules: valid, unit-tested with ``promtool test rules``, each with a runbook.

The promtool tests (deploy/monitoring/tests/alerts_test.yml) hold, for every alert, a scenario
in which it fires and a healthy 40-minute scenario in which none does; this module checks that
the file really covers every rule both ways, then runs it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT
from tests.monitoring.promtool import MONITORING, promtool

ALERTS = MONITORING / "alerts.yml"
UNIT_TESTS = MONITORING / "tests" / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def test_the_rules_and_the_scrape_config_are_valid() -> None:
    out = promtool("check", "config", "/m/prometheus.yml")
    assert f"SUCCESS: {len(rules())} rules found" in out


def test_promtool_unit_tests_pass() -> None:
    out = promtool("test", "rules", "/m/tests/alerts_test.yml")
    assert "SUCCESS" in out


def test_every_alert_fires_in_a_test_and_stays_quiet_when_healthy() -> None:
    tests = yaml.safe_load(UNIT_TESTS.read_text(encoding="utf-8"))["tests"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            if check.get("exp_alerts"):
                fires.add(check["alertname"])
            elif case["name"] == "healthy":
                quiet.add(check["alertname"])
    names = {rule["alert"] for rule in rules()}
    assert names - fires == set(), "alerts without a test in which they fire"
    assert names - quiet == set(), "alerts not checked against the healthy scenario"


def test_every_alert_says_what_to_do_and_links_its_runbook() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(encoding="utf-8"), re.M)
    }
    for rule in rules():
        notes = rule["annotations"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert len(notes["description"]) > 60, rule["alert"]
        page, _, anchor = notes["runbook_url"].partition("#")
        assert page == "docs/operations.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in {OPERATIONS.name}"
