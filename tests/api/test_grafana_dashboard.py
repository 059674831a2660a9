"""The provisioned Grafana dashboard (deploy/grafana): every series a panel queries is one a running bot really
exports, and the panels an operator looks for are there."""

from __future__ import annotations

import json
import re
from pathlib import Path

from botkit import client, running, until

from helpers import series_names

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboards" / "ictbot.json"


def queried_series() -> set[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        name for panel in panels for t in panel["targets"] for name in re.findall(r"\bictbot_[a-z0-9_]+", t["expr"])
    }


def test_the_dashboard_has_the_panels_an_operator_watches():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "ictbot"
    titles = {panel["title"] for panel in dashboard["panels"]}
    for title in ("Ready", "Market data age", "Equity", "PnL", "Open positions", "Orders and fills (per hour)",
                  "Venue errors (10 min)", "Reconciliation failing", "Daily loss limit reached"):  # fmt: skip
        assert title in titles, title
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus", panel["title"]
    assert {"ictbot_orders_sent_total", "ictbot_fills_total", "ictbot_candle_age_seconds"} <= queried_series()


async def test_every_series_the_dashboard_queries_is_exported_by_a_bot_trading_on_the_venue(make_settings):
    names = queried_series()
    settings = make_settings(speed=6000, execution={"unknown_order_settle_s": 0.05})
    async with running(settings) as engine, client(engine) as http:
        await until(lambda: engine.counters.totals().orders > 0, seconds=120)
        await engine.records_written()  # the recorded orders, by state
        text = (await http.get("/metrics")).text
    exported = series_names(text)
    assert names - exported == set(), (
        f"the dashboard queries series the bot does not export: {sorted(names - exported)}"
    )
