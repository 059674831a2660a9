"""The Prometheus alerting rules in deploy/prometheus: valid for promtool, each alert fires on the series that should
raise it (alerts.test.yml), and every metric a rule names is one a running bot really exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from botkit import client, running, until

from helpers import series_names

RULES = Path(__file__).parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: prometheus)")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=60, check=False)


@needs_promtool
def test_the_rules_pass_promtool_check():
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout


@needs_promtool
def test_each_alert_fires_when_it_should_and_not_before():
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    tested = {case["alertname"] for case in yaml.safe_load((RULES / "alerts.test.yml").read_text())["tests"][0][
        "alert_rule_test"]}  # fmt: skip
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"][0]["rules"]
    assert tested == {rule["alert"] for rule in rules}, "every alert has a unit test"


def named_metrics() -> set[str]:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"][0]["rules"]
    return {name for rule in rules for name in re.findall(r"\bictbot_[a-z0-9_]+", rule["expr"])}


async def test_every_metric_a_rule_names_is_exported_by_a_bot_trading_on_the_venue(make_settings):
    names = named_metrics()
    assert {"ictbot_ready", "ictbot_trading_state", "ictbot_reconciliation_failing"} <= names
    settings = make_settings(speed=6000, execution={"unknown_order_settle_s": 0.05})
    async with running(settings) as engine, client(engine) as http:
        await until(lambda: engine.counters.totals().candles, seconds=60)
        text = (await http.get("/metrics")).text
    exported = series_names(text)
    assert names - exported == set(), f"rules name metrics the bot does not export: {sorted(names - exported)}"
