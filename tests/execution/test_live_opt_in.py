"""Real money needs ``live.confirm``: whatever URL the venue has, unless it is a server on this machine."""

from __future__ import annotations

import pytest

from ictbot.config import load_settings
from ictbot.errors import ConfigError
from ictbot.runtime.safety import check_live_opt_in

KEYS = {"api_key": "key", "api_secret": "secret"}
MAINNET = {"rest_url": "https://fapi.binance.com", "ws_url": "wss://fstream.binance.com"}


@pytest.mark.parametrize(
    "venue",
    [
        {"testnet": False},
        {"testnet": False, **MAINNET},
        {"testnet": True, **MAINNET},  # a rest_url wins over testnet: this is mainnet
        {"testnet": False, "rest_url": "http://10.0.0.5:8080", "ws_url": "ws://10.0.0.5:8080"},
        {"testnet": False, "rest_url": "http://127.0.0.1.example.com", "ws_url": "ws://127.0.0.1.example.com"},
        {"testnet": False, "rest_url": "http://127.0.0.1:9000", "ws_url": "wss://fstream.binance.com"},
    ],
    ids=["mainnet", "mainnet-url", "mainnet-url-testnet-flag", "lan-host", "lookalike-host", "remote-ws"],
)
def test_a_venue_that_may_trade_real_money_needs_live_confirm(venue: dict) -> None:
    settings = load_settings(mode="live", venue={**venue, **KEYS})
    with pytest.raises(ConfigError, match=r"live\.confirm: true"):
        check_live_opt_in(settings)
    check_live_opt_in(load_settings(mode="live", venue={**venue, **KEYS}, live={"confirm": True}))


@pytest.mark.parametrize(
    "venue",
    [
        {"testnet": True},
        {"testnet": False, "rest_url": "http://127.0.0.1:9000", "ws_url": "ws://127.0.0.1:9000"},
        {"testnet": False, "rest_url": "http://localhost:9000", "ws_url": "ws://localhost:9000"},
        {"testnet": False, "rest_url": "http://[::1]:9000", "ws_url": "ws://[::1]:9000"},
    ],
    ids=["demo", "local-exchange-ipv4", "local-exchange-name", "local-exchange-ipv6"],
)
def test_the_demo_venue_and_a_local_exchange_need_no_confirmation(venue: dict) -> None:
    check_live_opt_in(load_settings(mode="live", venue={**venue, **KEYS}))
