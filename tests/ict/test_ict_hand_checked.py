"""Real-data examples checked candle by candle: BTCUSDT 1m from 2025-05-04 15:33 UTC (tests/data)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ict_support import real_frame

from ictbot.ict.batch import IctTables, detect_frame
from ictbot.ict.records import Record
from ictbot.ict.state import IctState


def ms(hhmm: str, day: str = "2025-05-04") -> int:
    return int(datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def tables() -> IctTables:
    return detect_frame(real_frame("BTC", "1m", 3000))


def only(records: list[Record], **fields) -> Record:
    (match,) = [r for r in records if all(getattr(r, k) == v for k, v in fields.items())]
    return match


def test_swing_high_at_15_52_confirmed_five_candles_later(tables):
    # Highs 15:47–15:57: 95434.5, 95449.6, 95453.3, 95453.3, 95453.3, [15:52] 95453.4, 95453.2, 95446.3, 95446.3,
    # 95446.5, 95446.5. 15:52 is the maximum of its 5-left/5-right window, so it is a swing high known at the
    # close of 15:57. The last kept swing was the 15:46 low (95380.0), so it alternates and is kept.
    swing = only(tables.swings.records(), formed_at=ms("15:52"))
    assert (swing.direction, swing.top, swing.known_at, swing.superseded_at) == (1, 95453.4, ms("15:57"), None)


def test_bos_at_16_01_then_choch_at_16_16(tables):
    # No close broke anything before 16:01 (closes stayed between 95399.9 and 95486.4), so the trend is 0 and the
    # 16:01 close 95461.6 above the 15:52 swing high 95453.4 is a bullish BOS. The leg's origin is the lowest low
    # of 15:53–16:00: 16:00's 95340.1. That low is confirmed as a swing low at 16:05; the 16:16 close 95339.9
    # goes below it while the trend is bullish: a bearish CHoCH.
    breaks = tables.structure.records()
    bos = only(breaks, known_at=ms("16:01"))
    assert (bos.kind, bos.direction, bos.level, bos.formed_at) == ("bos", 1, 95453.4, ms("15:52"))
    assert (bos.extreme, bos.extreme_at) == (95340.1, ms("16:00"))
    choch = only(breaks, known_at=ms("16:16"))
    assert (choch.kind, choch.direction, choch.level, choch.formed_at) == ("choch", -1, 95340.1, ms("16:00"))


def test_bearish_fvg_on_the_first_three_candles_and_its_lifecycle(tables):
    # 15:33 low 95502.7 > 15:35 high 95478.1: a bearish gap [95478.1, 95502.7] anchored on 15:34, known at 15:35.
    # Highs after it: 15:36 95467.7, 15:37 95477.9 (0.2 short of the bottom), 15:38 95474.3, 15:39 95486.5 — the
    # first touch, filling (95486.5 − 95478.1) / 24.6 = 34 %.
    gap = only(tables.fvgs.records(), formed_at=ms("15:34"))
    assert (gap.direction, gap.top, gap.bottom, gap.known_at) == (-1, 95502.7, 95478.1, ms("15:35"))
    assert gap.touched_at == ms("15:39")
    frame = real_frame("BTC", "1m", 3000)
    state = IctState(frame.timeframe)
    for candle in frame.slice(0, 7).candles():
        state.update(candle)
    (live,) = [g for g in state.fvgs if g.formed_at == ms("15:34")]
    assert live.fill == pytest.approx((95486.5 - 95478.1) / (95502.7 - 95478.1))
    assert live.filled_at is None and live.invalidated_at is None


def test_order_block_of_the_16_01_bos_and_the_breaker_it_became(tables):
    # The BOS at 16:01 started from 16:00 (the lowest low, itself a down-close candle: open 95421.1 > close
    # 95419.9), so the bullish order block is 16:00's range [95340.1, 95421.2], known at 16:01. Lows 16:02–16:13
    # stay above 95421.2 (16:13: 95425.0); 16:14's low 95390.0 mitigates it. 16:15 closes 95381.0, still inside;
    # 16:16 closes 95339.9 below 95340.1: invalidated, and a bearish breaker on the same range is known at 16:16.
    # 16:17's high 95353.1 retests the breaker; 16:20 closes 95420.0 (below its top 95421.2), 16:21 closes 95424.5
    # above it: the breaker is invalidated.
    block = only(tables.order_blocks.records(), formed_at=ms("16:00"), direction=1)
    assert (block.top, block.bottom, block.known_at) == (95421.2, 95340.1, ms("16:01"))
    assert (block.mitigated_at, block.invalidated_at) == (ms("16:14"), ms("16:16"))
    breaker = only(tables.breakers.records(), formed_at=ms("16:00"))
    assert (breaker.direction, breaker.top, breaker.bottom, breaker.known_at) == (-1, 95421.2, 95340.1, ms("16:16"))
    assert (breaker.retested_at, breaker.invalidated_at) == (ms("16:17"), ms("16:21"))


def test_equal_highs_pool_and_its_sweep(tables):
    # Swing high 17:11 at 95441.0 (known 17:16, tolerance 0.1 × ATR14 = 2.34). The 17:54 swing high 95435.0 is 6.0
    # away: no pair. The 18:05 swing high 95442.0 (known 18:10) is 1.0 away: a buy-side eqh [95441.0, 95442.0]
    # anchored on 17:11. No high from 18:11 to 18:21 exceeds 95442.0; 18:22 trades to 95448.7 and closes back at
    # 95441.3: swept.
    pool = only(tables.liquidity.records(), kind="eqh", formed_at=ms("17:11"))
    assert (pool.direction, pool.bottom, pool.top, pool.known_at) == (1, 95441.0, 95442.0, ms("18:10"))
    assert (pool.swept_at, pool.broken_at) == (ms("18:22"), None)


def test_previous_day_low_known_at_the_last_candle_of_the_day_then_swept(tables):
    # The data starts mid-day on 2025-05-04, so that day is skipped. 2025-05-05's low is 93445.1 at 02:09, known at
    # the close of 23:59. On 2025-05-06 lows stay at or above 93617.2 until 13:51 trades to 93444.4 and closes at
    # 93573.9, back above the level: a sweep of the previous day's low.
    level = only(tables.liquidity.records(), kind="pdl", formed_at=ms("02:09", "2025-05-05"))
    assert (level.direction, level.bottom, level.known_at) == (-1, 93445.1, ms("23:59", "2025-05-05"))
    assert (level.swept_at, level.broken_at) == (ms("13:51", "2025-05-06"), None)


def test_new_york_pm_killzone_range_in_daylight_time(tables):
    # May is EDT (UTC−4): NY PM 13:30–16:00 New York is 17:30–20:00 UTC, so its range covers the candles opening
    # 17:30 … 19:59 UTC: high 95590.0, low 95200.1, known at 19:59's close. The NY AM window had ended before the
    # data's first candle (11:33 EDT), so it is not reported.
    first = tables.sessions.records()[0]
    assert (first.name, first.formed_at, first.known_at) == ("ny_pm", ms("17:30"), ms("19:59"))
    assert (first.top, first.bottom) == (95590.0, 95200.1)


def test_dealing_range_premium_discount_and_ote_after_the_16_01_bos():
    # After the 16:01 BOS the leg runs from 16:00's low 95340.1; 16:01 reaches 95461.6 and 16:03 95497.3, the highest
    # high until the 16:16 CHoCH. So at 16:05: range [95340.1, 95497.3], equilibrium 95418.7, OTE band = retracement
    # 0.62–0.79 below the top = [95373.11, 95399.84]. The next candle opening 17:30 is in the NY PM killzone.
    frame = real_frame("BTC", "1m", 3000)
    state = IctState(frame.timeframe)
    for candle in frame.slice(0, 33).candles():  # 15:33 … 16:05
        state.update(candle)
    rng = state.dealing_range
    assert state.trend == 1
    assert (rng.direction, rng.bottom, rng.top, rng.formed_at) == (1, 95340.1, 95497.3, ms("16:00"))
    span = 95497.3 - 95340.1
    assert rng.equilibrium == pytest.approx(95418.7)
    assert rng.ote == pytest.approx((95497.3 - 0.79 * span, 95497.3 - 0.62 * span))
    assert rng.in_discount(95380.0) and rng.in_premium(95450.0)
    assert rng.retracement(95340.1) == pytest.approx(1.0)
    assert state.killzone is None
    for candle in frame.slice(33, 118).candles():  # … 17:30
        state.update(candle)
    assert state.killzone == "ny_pm"
