"""``equity.csv``: one row per candle of the backtest, the candle's close time in ISO-8601 UTC and the equity then."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ictbot.backtest.report import equity_csv
from ictbot.backtest.runner import run_backtest
from ictbot.config import load_settings
from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles


def test_every_candle_has_its_row_with_the_close_time_and_the_equity_to_eight_decimals(data_dir):
    """On a real month of BTC 1m with trades (so the equity moves), each row is what ``iso`` and ``{:.8f}`` write for
    that candle, in order; the first row is the close of the first candle, hand-checked from the file."""
    btc = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    result = run_backtest(load_settings(strategy={"name": "fvg_retrace"}), [btc])
    lines = equity_csv(result).splitlines()
    assert lines[0] == "time,equity" and len(lines) == len(btc) + 1
    assert lines[1] == f"{iso(int(btc.open_time[0]) + 60_000)},1000.00000000"
    assert len(np.unique(result.equity)) > 100
    expected = [f"{iso(int(t))},{e:.8f}" for t, e in zip(result.equity_time, result.equity, strict=True)]
    assert lines[1:] == expected


def test_sub_second_times_are_cut_to_the_second_as_iso_cuts_them():
    class Result:
        equity_time = np.array([0, 999, 1_000, 1_746_372_839_999, 253_402_300_799_000], dtype=np.int64)
        equity = np.array([0.0, -0.0, 1e-9, 123_456.123456789, -5.5])

    assert equity_csv(Result()).splitlines()[1:] == [
        "1970-01-01T00:00:00Z,0.00000000",
        "1970-01-01T00:00:00Z,-0.00000000",
        "1970-01-01T00:00:01Z,0.00000000",
        "2025-05-04T15:33:59Z,123456.12345679",
        "9999-12-31T23:59:59Z,-5.50000000",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 253_402_300_799_999),
            st.sampled_from([0.0, -0.0, 1e-9, 5e-9, 1000.0, 997.61, -5.5, 123_456.123456789, float("nan")]),
        ),
        max_size=60,
    )
)
def test_rows_are_what_iso_and_eight_decimals_write_row_by_row(rows):
    """Times in any order (repeats, jumps across days and years) and runs of equal, signed-zero and NaN equity: the
    bulk formatting gives each row exactly what ``iso`` and ``{:.8f}`` give it alone."""

    class Result:
        equity_time = np.array([t for t, _ in rows], dtype=np.int64)
        equity = np.array([e for _, e in rows], dtype=np.float64)

    expected = ["time,equity", *(f"{iso(t - t % 1000)},{e:.8f}" for t, e in rows)]
    assert equity_csv(Result()) == "\n".join(expected) + "\n"
