"""``GET /metrics`` in the Prometheus text format, read from the engine at scrape time (nothing on the hot path).

Counters are the engine's own totals since start; gauges are the state at the scrape. See docs/api.md for names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ictbot.runtime.counters import CountSnapshot
from ictbot.runtime.engine import Engine
from ictbot.runtime.supervisor import StageStatus

router = APIRouter(tags=["metrics"])


@dataclass(slots=True)
class Snapshot:
    """Everything a scrape reports, taken on the event loop in one go so the numbers agree with each other."""

    counts: CountSnapshot
    ages: dict[tuple[str, str], float | None]
    stages: list[StageStatus]
    ready: bool
    trading_state: str
    equity: Decimal
    cash: Decimal
    realized: Decimal
    fees: Decimal
    unrealized: Decimal
    open_positions: int
    latencies_s: list[float]
    used_weight: int | None
    venue_ok_age_s: float | None
    venue_latencies_s: list[float] = field(default_factory=list)
    rate_limits: dict[str, float] = field(default_factory=dict)
    orders_by_state: dict[str, int] = field(default_factory=dict)
    auto_halts: tuple[str, ...] = ()


def take_snapshot(engine: Engine) -> Snapshot:
    assert engine.pipeline is not None and engine.health is not None and engine.supervisor is not None
    now = engine.clock.now_ms()
    pipeline = engine.pipeline
    portfolio = pipeline.portfolio
    readiness = engine.health.readiness(now)
    equity = pipeline.equity()
    venue = next(c for c in readiness.checks if c.name == "venue")
    return Snapshot(
        counts=engine.counters.totals(),
        ages={(s, tf.value): age for (s, tf), age in engine.health.stream_ages(now).items()},
        stages=engine.supervisor.statuses(now),
        ready=readiness.ready,
        trading_state=pipeline.gate.state.value,
        equity=equity,
        cash=portfolio.cash,
        realized=portfolio.realized,
        fees=portfolio.fees,
        unrealized=equity - portfolio.cash,
        open_positions=portfolio.open_position_count(),
        latencies_s=sorted(ns / 1e9 for ns in list(engine.latencies)),
        used_weight=_used_weight(engine),
        venue_ok_age_s=venue.age_seconds if venue.ok else None,
        venue_latencies_s=sorted(engine.venue_latencies),
        rate_limits=engine.venue.usage() if engine.venue is not None else {},
        auto_halts=engine.auto_halts,
    )


def _used_weight(engine: Engine) -> int | None:
    """Binance's ``X-MBX-USED-WEIGHT-1M`` of the newest REST answer: the share of the rate limit in use."""
    headers = getattr(engine.market.client, "last_response_headers", None) if engine.market else None
    if not headers:
        return None
    value = {k.lower(): v for k, v in dict(headers).items()}.get("x-mbx-used-weight-1m")
    return int(value) if value is not None and str(value).isdigit() else None


class SnapshotCollector:
    """A prometheus collector over the newest ``Snapshot``."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        if s is None:
            return
        stream = ["symbol", "timeframe"]
        candles = CounterMetricFamily("ictbot_candles_processed", "Closed candles processed per stream", labels=stream)
        for (symbol, tf), n in s.counts.candles.items():
            candles.add_metric([symbol, tf.value], n)
        yield candles
        age = GaugeMetricFamily(
            "ictbot_candle_age_seconds", "Seconds since the newest closed candle closed", labels=stream
        )
        for (symbol, tf), value in s.ages.items():
            if value is not None:
                age.add_metric([symbol, tf], value)
        yield age
        yield CounterMetricFamily("ictbot_signals", "Strategy signals", value=s.counts.signals)
        yield CounterMetricFamily("ictbot_orders_sent", "Entry orders handed to the broker", value=s.counts.orders)
        yield CounterMetricFamily("ictbot_fills", "Executions", value=s.counts.fills)
        rejections = CounterMetricFamily("ictbot_rejections", "Signals refused by the risk gate", labels=["reason"])
        for reason, n in s.counts.rejections.items():
            rejections.add_metric([reason], n)
        yield rejections
        orders = GaugeMetricFamily("ictbot_orders", "Recorded orders by current state", labels=["state"])
        for state, n in sorted(s.orders_by_state.items()):
            orders.add_metric([state], n)
        yield orders
        yield GaugeMetricFamily("ictbot_equity_usdt", "Account equity at the latest marks", value=float(s.equity))
        yield GaugeMetricFamily("ictbot_cash_usdt", "Equity without unrealized PnL", value=float(s.cash))
        yield GaugeMetricFamily("ictbot_realized_pnl_usdt", "Realized PnL since start", value=float(s.realized))
        yield GaugeMetricFamily("ictbot_unrealized_pnl_usdt", "Unrealized PnL at the marks", value=float(s.unrealized))
        yield GaugeMetricFamily("ictbot_fees_usdt", "Fees paid since start", value=float(s.fees))
        yield GaugeMetricFamily("ictbot_open_positions", "Positions open now", value=s.open_positions)
        yield GaugeMetricFamily("ictbot_ready", "1 when every readiness check passes", value=int(s.ready))
        state = GaugeMetricFamily("ictbot_trading_state", "1 for the current trading state", labels=["state"])
        for name in ("ACTIVE", "REDUCING", "HALTED"):
            state.add_metric([name], int(name == s.trading_state))
        yield state
        yield GaugeMetricFamily(
            "ictbot_reconciliation_failing", "1 while the last reconciliation with the venue failed (trading halted)",
            value=int("reconciliation" in s.auto_halts),
        )  # fmt: skip
        restarts = CounterMetricFamily("ictbot_task_restarts", "Restarts of each supervised task", labels=["task"])
        up = GaugeMetricFamily("ictbot_task_up", "1 while a task runs and beats", labels=["task"])
        for stage in s.stages:
            restarts.add_metric([stage.name], stage.restarts)
            up.add_metric([stage.name], int(stage.alive))
        yield restarts
        yield up
        if s.latencies_s:
            latency = GaugeMetricFamily(
                "ictbot_decision_latency_seconds",
                "Closed kline arrival to the entry with the simulated broker, or its request on the venue socket",
                labels=["quantile"],
            )
            for q in (0.5, 0.9, 0.99):
                latency.add_metric([str(q)], s.latencies_s[min(len(s.latencies_s) - 1, int(q * len(s.latencies_s)))])
            yield latency
        if s.venue_ok_age_s is not None:
            yield GaugeMetricFamily(
                "ictbot_venue_last_ok_age_seconds", "Seconds since the venue last answered", value=s.venue_ok_age_s
            )
        if s.used_weight is not None:
            yield GaugeMetricFamily(
                "ictbot_venue_used_weight_1m", "Request weight used in the current minute", value=s.used_weight
            )
        if s.venue_latencies_s:
            latency = GaugeMetricFamily(
                "ictbot_venue_latency_seconds", "Round trip of the venue check call", labels=["quantile"]
            )
            for q in (0.5, 0.9, 0.99):
                values = s.venue_latencies_s
                latency.add_metric([str(q)], values[min(len(values) - 1, int(q * len(values)))])
            yield latency
        if s.rate_limits:
            usage = GaugeMetricFamily(
                "ictbot_venue_rate_limit", "The order client's rate-limit budget: used and limit per window, "
                "seconds of pause left, fault counters", labels=["measure"],
            )  # fmt: skip
            for measure, value in sorted(s.rate_limits.items()):
                usage.add_metric([measure], float(value))
            yield usage


def metrics_registry() -> tuple[CollectorRegistry, SnapshotCollector]:
    """A registry of its own per app, so two bots in one process (tests) never share metrics."""
    registry = CollectorRegistry(auto_describe=False)
    collector = SnapshotCollector()
    registry.register(collector)
    return registry, collector


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    snapshot = take_snapshot(engine)
    if engine.recorder is not None:
        snapshot.orders_by_state = await asyncio.to_thread(engine.recorder.order_state_counts)
    registry, collector = request.app.state.metrics
    collector.snapshot = snapshot
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
