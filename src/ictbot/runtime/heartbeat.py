"""The stage that keeps readiness current and the log talking: a heartbeat line every minute, whatever happens.

Readiness is re-judged every few seconds, so a stalled stream, a dead stage or an unreachable venue is logged (and
reported to listeners) well within 2 × timeframe; once a minute one line says what flowed since the previous line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ictbot.runtime.counters import Counters, CountSnapshot, StreamKey, stream_name
from ictbot.runtime.health import Health, Readiness
from ictbot.runtime.supervisor import StageContext

logger = logging.getLogger("ictbot.heartbeat")


class HeartbeatMonitor:
    """Run as a critical supervised stage: ``supervisor.add("heartbeat", monitor.run)``."""

    def __init__(
        self,
        health: Health,
        counters: Counters,
        *,
        line_interval_s: float = 60.0,
        check_interval_s: float = 5.0,
        progress: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        if line_interval_s <= 0 or check_interval_s <= 0:
            raise ValueError("line_interval_s and check_interval_s must be positive")
        self._health = health
        self._counters = counters
        self._line_interval_ms = round(line_interval_s * 1000)
        self._check_interval_s = check_interval_s
        self._progress = progress

    async def run(self, ctx: StageContext) -> None:
        """Re-judge readiness every ``check_interval_s`` and log a line every ``line_interval_s``."""
        next_line_ms = ctx.clock.now_ms() + self._line_interval_ms
        while True:
            ctx.beat()
            now_ms = ctx.clock.now_ms()
            readiness = self._health.evaluate(now_ms)
            if now_ms >= next_line_ms:
                self.log_line(now_ms, readiness)
                next_line_ms = max(next_line_ms + self._line_interval_ms, now_ms + 1)
            await ctx.clock.sleep(min(self._check_interval_s, (next_line_ms - now_ms) / 1000))

    def log_line(self, now_ms: int, readiness: Readiness) -> HeartbeatLine:
        """Write one line with the counts since the previous line; the log record carries it as ``heartbeat``."""
        line = HeartbeatLine.build(self._counters.take_interval(), self._health.stream_ages(now_ms), readiness)
        progress = self._progress() if self._progress is not None else None
        record = line.to_dict()
        text = line.text()
        if progress is not None:
            record["replay"] = progress
            text += (
                f" progress={progress['progress_pct']:.1f}% market={progress['market_time']}"
                f" eta={_duration(progress['eta_seconds'])}"
            )
        logger.info("%s", text, extra={"heartbeat": record})
        return line


@dataclass(frozen=True, slots=True)
class HeartbeatLine:
    """What flowed since the previous line, how old each stream's newest candle is, and whether the bot is ready."""

    ready: bool
    failing: tuple[str, ...]
    degraded: tuple[str, ...]
    candles: dict[str, int]
    signals: int
    orders: int
    fills: int
    rejections: int
    newest_candle_age_s: dict[str, float | None]

    @classmethod
    def build(cls, counts: CountSnapshot, ages: dict[StreamKey, float | None], readiness: Readiness) -> HeartbeatLine:
        streams = [*ages, *(key for key in counts.candles if key not in ages)]
        return cls(
            ready=readiness.ready,
            failing=readiness.failing,
            degraded=readiness.degraded,
            candles={stream_name(key): counts.candles.get(key, 0) for key in streams},
            signals=counts.signals,
            orders=counts.orders,
            fills=counts.fills,
            rejections=counts.rejected,
            newest_candle_age_s={stream_name(key): age for key, age in ages.items()},
        )

    def text(self) -> str:
        """``heartbeat ready=yes failing=- candles=BTCUSDT:1m=60 signals=1 … newest_age=BTCUSDT:1m=3s``, with
        ``degraded=stage:api`` when a non-critical stage keeps crashing."""
        candles = ",".join(f"{name}={n}" for name, n in self.candles.items()) or "-"
        ages = ",".join(f"{name}={_age(age)}" for name, age in self.newest_candle_age_s.items()) or "-"
        degraded = f" degraded={','.join(self.degraded)}" if self.degraded else ""
        return (
            f"heartbeat ready={'yes' if self.ready else 'no'} failing={','.join(self.failing) or '-'}{degraded} "
            f"candles={candles} signals={self.signals} orders={self.orders} fills={self.fills} "
            f"rejections={self.rejections} newest_age={ages}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "failing": list(self.failing),
            "degraded": list(self.degraded),
            "candles": dict(self.candles),
            "signals": self.signals,
            "orders": self.orders,
            "fills": self.fills,
            "rejections": self.rejections,
            "newest_candle_age_s": dict(self.newest_candle_age_s),
        }


def _age(age_s: float | None) -> str:
    return "none" if age_s is None else f"{age_s:.0f}s"


def _duration(seconds: float | None) -> str:
    """``1h02m``, ``4m05s`` or ``12s``: the replay's time left, read at a glance."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
