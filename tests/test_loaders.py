"""Every loader round-trips its format; every kind of malformed input gets a precise DataError."""

import gzip
import json
import zipfile
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ictbot.cli import app
from ictbot.data.loaders import (
    NameInfo,
    load_candles,
    load_funding_rates,
    load_mark_prices,
    parse_file_name,
    write_parquet,
)
from ictbot.domain import Timeframe
from ictbot.errors import DataError


@pytest.fixture(scope="module")
def link(data_dir):
    return load_candles(data_dir / "LINKUSDT-1m-2023-02.zip")


def _same(a, b):
    for name in ("open_time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _csv_rows(frame, scale=1):
    return [
        f"{int(t) * scale},{o!r},{h!r},{lo!r},{c!r},{v!r},{int(t) * scale + 59999},0,0,0,0,0"
        for t, o, h, lo, c, v in zip(
            *(getattr(frame, n).tolist() for n in ("open_time", "open", "high", "low", "close", "volume")), strict=True
        )
    ]


def test_real_files_load_with_symbol_and_timeframe_from_the_name(data_dir, link):
    btc = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    assert (btc.symbol, btc.timeframe, len(btc)) == ("BTCUSDT", Timeframe.M1, 43_199)
    assert btc.gaps() == []
    assert (link.symbol, link.timeframe, len(link)) == ("LINKUSDT", Timeframe.M1, 40_320)
    xrp = load_candles(data_dir / "XRP_USDT_USDT-1h-futures.json.gz")
    assert (xrp.symbol, xrp.timeframe, len(xrp)) == ("XRPUSDT", Timeframe.H1, 100)
    feather_copy = load_candles(data_dir / "XRP_USDT_USDT-1h-futures.feather")
    np.testing.assert_array_equal(xrp.open_time, feather_copy.open_time)
    np.testing.assert_allclose(xrp.close, feather_copy.close, rtol=1e-12)  # same candles, stored via another float path


def test_gappy_series_reports_its_gaps_and_invents_nothing(data_dir):
    frame = load_candles(data_dir / "XRP_ETH-1m.feather")
    gaps = frame.gaps()
    assert len(frame) == 2_469
    assert len(gaps) == 676
    assert sum(g.missing for g in gaps) == 1_091


def test_parquet_round_trip(tmp_path, link):
    out = tmp_path / "link.parquet"
    write_parquet(link, out)
    _same(load_candles(out, symbol="LINKUSDT"), link)


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("scale", [1, 1000], ids=["ms", "us"])
def test_binance_dump_zip_with_or_without_header_in_ms_or_us(tmp_path, link, header, scale):
    part = link.slice(0, 500)
    lines = _csv_rows(part, scale)
    if header:
        lines.insert(
            0,
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore",
        )
    path = tmp_path / "LINKUSDT-1m-2023-02.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("LINKUSDT-1m-2023-02.csv", "\n".join(lines) + "\n")
    _same(load_candles(path), part)
    plain = tmp_path / "LINKUSDT-1m-2023-02.csv"
    plain.write_text("\n".join(lines) + "\n")
    _same(load_candles(plain), part)


def test_rest_klines_json_and_gzip_arrays_round_trip(tmp_path, link):
    part = link.slice(100, 400)
    rows = [r.split(",") for r in _csv_rows(part)]
    klines = [[int(r[0]), *r[1:6], int(r[6]), *r[7:]] for r in rows]
    (tmp_path / "LINKUSDT-1m-klines.json").write_text(json.dumps(klines))
    _same(load_candles(tmp_path / "LINKUSDT-1m-klines.json"), part)
    arrays = [[int(r[0]), *map(float, r[1:6])] for r in rows]
    with gzip.open(tmp_path / "LINK_USDT_USDT-1m-futures.json.gz", "wt") as fh:
        json.dump(arrays, fh)
    loaded = load_candles(tmp_path / "LINK_USDT_USDT-1m-futures.json.gz")
    assert loaded.symbol == "LINKUSDT"
    _same(loaded, part)


def test_funding_times_are_rounded_to_the_minute_and_mark_files_load(data_dir):
    times, rates = load_funding_rates(data_dir / "BTC_USDT_USDT-8h-funding_rate.feather")
    assert np.all(times % 60_000 == 0)
    assert rates[0] == pytest.approx(0.000068, rel=0.01)
    mark = load_mark_prices(data_dir / "XRP_USDT_USDT-1h-mark.feather")
    assert mark.timeframe is Timeframe.H1 and np.all(mark.volume == 0)


def _feather(tmp_path, name, frame, edit):
    cols = {n: getattr(frame, n).copy() for n in ("open", "high", "low", "close", "volume")}
    times = frame.open_time.copy()
    times, cols = edit(times, cols)
    table = pa.table({"date": pa.array(times, pa.int64()).cast(pa.timestamp("ms", tz="UTC")), **cols})
    path = tmp_path / name
    feather.write_feather(table, path)
    return path


def _shuffle(t, c):
    t[[10, 11]] = t[[11, 10]]
    return t, c


def _duplicate(t, c):
    t[21] = t[20]
    return t, c


def _high_below_low(t, c):
    c["high"][30] = c["low"][30] - 1
    return t, c


def _nan(t, c):
    c["close"][40] = np.nan
    return t, c


def _negative(t, c):
    c["volume"][5] = -3
    return t, c


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_shuffle, r"row 12 \(2023-02-01T00:10:00Z\): open time goes backwards .* sorted by open time"),
        (_duplicate, r"row 22 \(2023-02-01T00:20:00Z\): duplicate open time"),
        (_high_below_low, r"row 31 \(2023-02-01T00:30:00Z\): high < low"),
        (_nan, r"row 41 \(2023-02-01T00:40:00Z\): close is NaN"),
        (_negative, r"row 6 \(2023-02-01T00:05:00Z\): volume is negative"),
    ],
    ids=["shuffled", "duplicate", "high<low", "nan", "negative"],
)
def test_malformed_candles_name_file_row_and_problem(tmp_path, link, edit, message):
    path = _feather(tmp_path, "LINK_USDT_USDT-1m-futures.feather", link.slice(0, 60), edit)
    with pytest.raises(DataError, match=r"LINK_USDT_USDT-1m-futures.feather: " + message):
        load_candles(path)


def test_wrong_columns_truncated_zip_and_unknown_format(tmp_path, data_dir):
    table = pa.table({"date": pa.array([0, 60_000], pa.int64()), "open": [1.0, 1.0], "close": [1.0, 1.0]})
    feather.write_feather(table, tmp_path / "X-1m.feather")
    with pytest.raises(DataError, match=r"wrong columns .* missing high, low, volume"):
        load_candles(tmp_path / "X-1m.feather")
    raw = (data_dir / "LINKUSDT-1m-2023-02.zip").read_bytes()
    (tmp_path / "LINKUSDT-1m-2023-02.zip").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"LINKUSDT-1m-2023-02.zip: cannot be read .* damaged"):
        load_candles(tmp_path / "LINKUSDT-1m-2023-02.zip")
    (tmp_path / "candles.txt").write_text("1,2,3")
    with pytest.raises(DataError, match="unknown format; supported"):
        load_candles(tmp_path / "candles.txt")
    with pytest.raises(DataError, match="no such file"):
        load_candles(tmp_path / "missing.feather")


def test_data_info_and_resample_commands(tmp_path, data_dir):
    runner = CliRunner()
    info = runner.invoke(app, ["data", "info", str(data_dir / "XRP_ETH-1m.feather")])
    assert info.exit_code == 0, info.output
    assert "symbol:    XRPETH" in info.output
    assert "rows:      2469" in info.output
    assert "gaps:      676 (1091 missing candles)" in info.output
    out = tmp_path / "eth15.parquet"
    done = runner.invoke(
        app,
        [
            "data",
            "resample",
            str(data_dir / "2023/ETH_USDT_USDT-1m-futures.feather"),
            "--timeframe",
            "15m",
            "--out",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    resampled = load_candles(out)
    assert resampled.symbol == "ETHUSDT", "a freely named output keeps the symbol in its metadata"
    assert resampled.timeframe is Timeframe.M15 and len(resampled) > 4000
    shown = runner.invoke(app, ["data", "info", str(out)])
    assert "symbol:    ETHUSDT" in shown.output and "timeframe: 15m" in shown.output


@pytest.mark.parametrize(
    ("name", "expected", "symbol"),
    [
        ("ETH_USDT_USDT-1m-futures.feather", "ETH_USDT_USDT-15m-futures.parquet", "ETHUSDT"),
        ("LINKUSDT-1m-2023-02.zip", "LINKUSDT-15m-2023-02.parquet", "LINKUSDT"),
    ],
)
def test_resample_without_out_names_the_output_like_its_input_so_the_symbol_travels(
    tmp_path, data_dir, name, expected, symbol
):
    source = tmp_path / name
    source.write_bytes(next(data_dir.rglob(name)).read_bytes())
    done = CliRunner().invoke(app, ["data", "resample", str(source), "--timeframe", "15m"])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, expected])
    assert parse_file_name(tmp_path / expected) == NameInfo(symbol, Timeframe.M15)
    resampled = load_candles(tmp_path / expected)
    assert (resampled.symbol, resampled.timeframe) == (symbol, Timeframe.M15)


def test_resample_of_a_file_without_a_symbol_takes_symbol_and_names_the_output_after_it(tmp_path, data_dir):
    source = tmp_path / "candles.parquet"
    write_parquet(replace(load_candles(data_dir / "LINKUSDT-1m-2023-02.zip").slice(0, 600), symbol=None), source)
    runner = CliRunner()
    refused = runner.invoke(app, ["data", "resample", str(source), "--timeframe", "5m"])
    assert refused.exit_code == 2 and "pass --symbol or --out" in refused.output
    done = runner.invoke(app, ["data", "resample", str(source), "--timeframe", "5m", "--symbol", "LINKUSDT"])
    assert done.exit_code == 0, done.output
    resampled = load_candles(tmp_path / "LINKUSDT-5m.parquet")
    assert (resampled.symbol, resampled.timeframe, len(resampled)) == ("LINKUSDT", Timeframe.M5, 120)


def test_failed_resample_writes_nothing(tmp_path):
    bad = tmp_path / "X-1m.csv"
    bad.write_text("1000,1,2,0.5,1,1\n1000,1,2,0.5,1,1\n")
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["data", "resample", str(bad), "--timeframe", "5m", "--out", str(out)])
    assert result.exit_code == 2
    assert "duplicate open time" in result.output
    assert list(tmp_path.iterdir()) == [bad]


def _zero_price(t, c):
    c["low"][7] = 0.0
    return t, c


def _far_future(t, c):
    t[-1] = 89_968_521_600_000  # the year 4821
    return t, c


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_zero_price, r"row 8 \(2023-02-01T00:07:00Z\): low is not positive \(0.0\)"),
        (_far_future, r"row 60: open time 89968521600000 is outside 1970-01-01T00:00:00Z … 2100-01-01T00:00:00Z"),
    ],
    ids=["zero-price", "year-4821"],
)
def test_impossible_prices_and_times_are_refused(tmp_path, link, edit, message):
    path = _feather(tmp_path, "LINK_USDT_USDT-1m-futures.feather", link.slice(0, 60), edit)
    with pytest.raises(DataError, match=r"LINK_USDT_USDT-1m-futures.feather: " + message):
        load_candles(path)


@pytest.mark.parametrize("bad_time", ["1e30", "Infinity", "-Infinity", "NaN"])
def test_a_candle_time_that_is_no_time_is_refused_naming_its_row(tmp_path, bad_time):
    rows = [[1_675_209_600_000, "1", "2", "0.5", "1.5", "10"], [bad_time, "1", "2", "0.5", "1.5", "10"]]
    path = tmp_path / "LINKUSDT-1m-x.json"
    path.write_text(json.dumps(rows).replace(f'"{bad_time}"', bad_time, 1))
    with pytest.raises(DataError, match=r"row 2: open time .* is not a time"):
        load_candles(path)


def test_a_parquet_float_time_of_infinity_or_an_empty_time_is_refused(tmp_path):
    prices = {name: [1.0, 1.0] for name in ("open", "high", "low", "close", "volume")}
    pq_path = tmp_path / "X-1m.parquet"
    pa.parquet.write_table(pa.table({"open_time": pa.array([1.6e12, float("inf")]), **prices}), pq_path)
    with pytest.raises(DataError, match=r"row 2: open time inf is not a time"):
        load_candles(pq_path)
    stamps = pa.array([1_675_209_600_000, None], pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    pa.parquet.write_table(pa.table({"date": stamps, **prices}), pq_path)
    with pytest.raises(DataError, match=r"row 2: the date is empty"):
        load_candles(pq_path)


def test_deeply_nested_json_and_a_short_row_get_clear_errors(tmp_path):
    nested = tmp_path / "LINKUSDT-1m-nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nested too deeply"):
        load_candles(nested)
    short = tmp_path / "LINKUSDT-1m-short.json"
    short.write_text(json.dumps([[1_675_209_600_000, "1", "2"]]))
    with pytest.raises(DataError, match=r"row 1: expected at least 6 fields .*, got \[1675209600000, '1', '2'\]"):
        load_candles(short)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=400),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=8)),
            lambda inner: st.lists(inner, max_size=7),
            max_leaves=40,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    suffix=st.sampled_from([".json", ".csv", ".json.gz", ".parquet", ".feather", ".zip"]),
)
def test_any_bytes_in_a_candle_file_give_a_data_error_or_valid_candles(tmp_path, content, suffix):
    path = tmp_path / f"LINKUSDT-1m-fuzz{suffix}"
    path.write_bytes(gzip.compress(content) if suffix == ".json.gz" and content[:1] == b"[" else content)
    try:
        frame = load_candles(path)
    except DataError:
        return
    assert len(frame) >= 1 and np.all(frame.low > 0) and np.all(np.diff(frame.open_time) > 0)
