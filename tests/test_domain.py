import pytest

from ictbot.domain import Candle, Side, Timeframe


def test_timeframes_know_their_duration_and_binance_interval():
    assert Timeframe.M1.ms == 60_000
    assert Timeframe.M15.ms == 15 * 60_000
    assert Timeframe.H4.ms == 4 * 3_600_000
    assert Timeframe.D1.ms == 86_400_000
    assert [tf.binance for tf in Timeframe] == ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "1d"]
    assert Timeframe.from_ms(300_000) is Timeframe.M5


def test_parsing_an_unknown_timeframe_lists_the_supported_ones():
    assert Timeframe.parse(" 1h ") is Timeframe.H1
    with pytest.raises(ValueError, match=r"unknown timeframe '7m'; supported: 1m, 3m, 5m"):
        Timeframe.parse("7m")


def test_candle_close_time_is_the_last_millisecond_like_binance():
    candle = Candle(1_700_000_040_000 - 40_000, 1, 2, 0.5, 1.5, 10)
    assert candle.close_time(Timeframe.M1) == candle.open_time + 59_999


def test_side_sign_and_opposite():
    assert Side.BUY.sign == 1 and Side.SELL.sign == -1
    assert Side.BUY.opposite is Side.SELL
