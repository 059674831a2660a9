"""The daily loss limit counts from 00:00 UTC by the account's recorded history, so a restart mid-day changes
nothing: the day's losses still bind, and a REDUCING state reached today holds until midnight."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ictbot.config import RiskSettings
from ictbot.domain import Candle, Fill, OrderType, Position, Side, Signal, Timeframe
from ictbot.kernel.pipeline import Pipeline
from ictbot.portfolio.ledger import Portfolio
from ictbot.risk.daily import DAY_MS, day_history, reducing_detail, restore_day
from ictbot.risk.gate import RiskGate, TradingState
from ictbot.storage import EventKind, Recorder, open_recorder
from ictbot.symbols import KNOWN_SYMBOLS
from ictbot.venues.simulated import SimulatedBroker

DAY = 20_400 * DAY_MS  # 2025-11-07 00:00 UTC
HOUR = 3_600_000
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


class EverySignal:
    """A strategy that proposes a long BTC entry on every base candle: each one asks the gate."""

    timeframes = (Timeframe.M1,)

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        return [Signal("BTCUSDT", Side.BUY, 104_000.0, 103_800.0, 104_400.0, candle.open_time, "test", OrderType.LIMIT)]


def restarted_pipeline(wallet: str, positions: dict[str, tuple[Decimal, Decimal]], now: int) -> Pipeline:
    """What a bot starting at ``now`` builds: a fresh pipeline whose account is the venue's (``adopt``)."""
    portfolio = Portfolio(Decimal(1000), keep_history=False)
    portfolio.adopt(Decimal(wallet), positions, now)
    broker = SimulatedBroker(KNOWN_SYMBOLS, 0.0002, 0.0005, 0, Timeframe.M1.ms, 10)
    gate = RiskGate(RiskSettings(daily_loss_limit_usdt=20), KNOWN_SYMBOLS, keep_history=False)
    return Pipeline(SYMBOLS, Timeframe.M1, EverySignal(), gate, broker, portfolio, keep_history=False)


def candle(open_time: int, close: float) -> Candle:
    return Candle(open_time, close, close, close, close, 1.0)


def fill(cid: str, symbol: str, side: Side, quantity: str, price: int, fee: str, time: int) -> Fill:
    return Fill(cid, symbol, side, Decimal(quantity), Decimal(price), Decimal(fee), time, False, "test")


def losing_day(recorder: Recorder) -> None:
    """An ETH long held across midnight, then two losing BTC round trips and a funding payment today."""
    recorder.record_fill(fill("ict-e", "ETHUSDT", Side.BUY, "0.5", 2000, "0.5", DAY - 2 * HOUR), trade_id="t0")
    recorder.record_position(Position("ETHUSDT", Decimal("0.5"), Decimal(2000)), DAY - 2 * HOUR)
    trades = [
        (Side.BUY, 100_000, "0.4", 0), (Side.SELL, 99_000, "0.4", -10),
        (Side.BUY, 98_000, "0.3", 0), (Side.SELL, 97_400, "0.3", -6),
    ]  # fmt: skip
    for i, (side, price, fee, realized) in enumerate(trades):
        at = DAY + (i + 1) * HOUR
        recorder.record_fill(fill(f"ict-b{i}", "BTCUSDT", side, "0.01", price, fee, at), trade_id=f"t{i + 1}",
                             realized_pnl=realized)  # fmt: skip
        quantity = Decimal("0.01") if side is Side.BUY else Decimal(0)
        recorder.record_position(Position("BTCUSDT", quantity, Decimal(price) if quantity else Decimal(0)), at)
    recorder.record_funding("ETHUSDT", DAY + 8 * HOUR, Decimal(-1))


def test_a_restart_mid_day_after_losses_keeps_the_daily_limit_binding(tmp_path: Path) -> None:
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}", clock=lambda: DAY + 9 * HOUR)
    losing_day(recorder)
    now = DAY + 10 * HOUR
    # By hand: realized −10 − 6, fees 0.4 + 0.4 + 0.3 + 0.3, funding −1: −18.4 since 00:00; the ETH long held at
    # 00:00 (mark 1990) was −5 then and is −7.5 now (mark 1985): 2.5 more. The day has lost 20.9 USDT ≥ 20.
    pipeline = restarted_pipeline("981.6", {"ETHUSDT": (Decimal("0.5"), Decimal(2000))}, now)
    history = day_history(recorder, now, SYMBOLS)
    assert (history.net_since_open, history.held_at_open) == (Decimal("-18.4"), {"ETHUSDT": (Decimal("0.5"), 2000)})
    opening = restore_day(pipeline, history, {"ETHUSDT": Decimal(1990)})
    assert opening == Decimal("981.6") + Decimal("18.4") - Decimal(5)

    pipeline.process("ETHUSDT", candle(now, 1985.0), [(Timeframe.M1, candle(now, 1985.0))])
    rejection = pipeline.gate.last_rejection
    assert rejection is not None and rejection.reason == "daily_loss_limit"
    assert rejection.detail.startswith("lost 20.90 USDT today, limit 20.0")
    assert pipeline.gate.state is TradingState.REDUCING


def test_a_fresh_day_after_a_restart_counts_from_zero(tmp_path: Path) -> None:
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}", clock=lambda: DAY + 9 * HOUR)
    losing_day(recorder)
    tomorrow = DAY + DAY_MS + HOUR
    history = day_history(recorder, tomorrow, SYMBOLS)
    assert (history.net_since_open, history.reducing) == (Decimal(0), None)
    assert history.held_at_open == {"ETHUSDT": (Decimal("0.5"), 2000)}  # still held at this midnight
    pipeline = restarted_pipeline("981.6", {"ETHUSDT": (Decimal("0.5"), Decimal(2000))}, tomorrow)
    assert restore_day(pipeline, history, {"ETHUSDT": Decimal(1985)}) == Decimal("981.6") - Decimal("7.5")
    pipeline.process("ETHUSDT", candle(tomorrow, 1985.0), [(Timeframe.M1, candle(tomorrow, 1985.0))])
    assert pipeline.gate.last_rejection is None and pipeline.gate.state is TradingState.ACTIVE


def test_reducing_reached_today_holds_after_a_restart_even_once_the_loss_has_shrunk(tmp_path: Path) -> None:
    clock = {"now": DAY + 11 * HOUR}
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}", clock=lambda: clock["now"])
    losing_day(recorder)
    first = restarted_pipeline("981.6", {"ETHUSDT": (Decimal("0.5"), Decimal(2000))}, clock["now"])
    first.gate.on_reducing = lambda reason, day: recorder.record_event(
        EventKind.TRADING_STATE, reducing_detail(reason), "risk"
    )
    restore_day(first, day_history(recorder, clock["now"], SYMBOLS), {"ETHUSDT": Decimal(1990)})
    first.process("ETHUSDT", candle(clock["now"], 1985.0), [(Timeframe.M1, candle(clock["now"], 1985.0))])
    assert first.gate.state is TradingState.REDUCING

    # The ETH long recovers to 2010 (+5 now): the day's loss is 18.4 − 5 + 5 = 18.4 < 20, yet the day stays REDUCING.
    clock["now"] = later = DAY + 12 * HOUR
    second = restarted_pipeline("981.6", {"ETHUSDT": (Decimal("0.5"), Decimal(2000))}, later)
    restore_day(second, day_history(recorder, later, SYMBOLS), {"ETHUSDT": Decimal(1990)})
    assert second.gate.state is TradingState.REDUCING
    second.process("ETHUSDT", candle(later, 2010.0), [(Timeframe.M1, candle(later, 2010.0))])
    assert second.gate.last_rejection is not None and second.gate.last_rejection.reason == "daily_loss_limit"

    next_day = DAY + DAY_MS
    second.process("ETHUSDT", candle(next_day, 2010.0), [(Timeframe.M1, candle(next_day, 2010.0))])
    assert second.gate.state is TradingState.ACTIVE
