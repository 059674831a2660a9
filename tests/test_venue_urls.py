"""Where the market-data client points: Binance's demo (testnet) or mainnet, or entirely at another server."""

import json

from ictbot.venues.binance import BinanceMarketData, redirected_config


def test_testnet_uses_binance_demo_futures_and_mainnet_the_real_one():
    demo = BinanceMarketData({}, demo=True).client.urls["api"]
    assert demo["fapiPublic"] == "https://demo-fapi.binance.com/fapi/v1"
    assert demo["fapiPrivate"].startswith("https://demo-fapi.binance.com/")
    assert BinanceMarketData({}).client.urls["api"]["fapiPublic"] == "https://fapi.binance.com/fapi/v1"


def test_redirected_config_leaves_no_binance_url():
    config = redirected_config("http://127.0.0.1:9", "ws://127.0.0.1:9", "key", "secret")
    text = json.dumps(config["urls"])
    assert "binance.com" not in text and "binancefuture" not in text
    assert config["urls"]["api"]["fapiPublic"] == "http://127.0.0.1:9/fapi/v1"
    client = BinanceMarketData(config).client
    assert client.urls["api"]["fapiPrivateV2"] == "http://127.0.0.1:9/fapi/v2"
    assert client.options["OHLCVLimit"] == 3  # the engine keeps its own candles; ccxt keeps only a few updates
