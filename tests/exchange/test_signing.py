"""HMAC-SHA256 signing exactly as Binance checks it (spec §2) and the security errors a client sees."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import aiohttp

from ictbot.exchange import LocalExchange, signature

from .binance_http import call


def test_the_documented_test_vector_verifies() -> None:
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    payload = (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
        "&recvWindow=5000&timestamp=1591702613943"
    )
    assert signature(secret, payload) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


async def test_a_correctly_signed_request_is_served(exchange: LocalExchange) -> None:
    answer = await call(exchange, "GET", "/fapi/v2/balance", signed=True)
    assert answer.status == 200
    assert answer.body[0]["balance"] == "10000.00000000"


async def test_wrong_signature_is_rejected_with_1022(exchange: LocalExchange) -> None:
    answer = await call(exchange, "GET", "/fapi/v2/balance", signed=True, secret="0" * 64)
    assert (answer.status, answer.body) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})


async def test_stale_timestamp_is_rejected_with_1021(exchange: LocalExchange) -> None:
    stale = int(time.time() * 1000) - 6000
    answer = await call(exchange, "GET", "/fapi/v2/balance", signed=True, timestamp=stale)
    assert answer.body == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    accepted = await call(exchange, "GET", "/fapi/v2/balance", signed=True, timestamp=stale, recvWindow=10000)
    assert accepted.status == 200


async def test_timestamp_ahead_of_server_is_rejected_with_1021(exchange: LocalExchange) -> None:
    ahead = int(time.time() * 1000) + 5000
    answer = await call(exchange, "GET", "/fapi/v2/balance", signed=True, timestamp=ahead)
    assert answer.body == {"code": -1021, "msg": "Timestamp for this request was 1000ms ahead of the server's time."}


async def test_missing_or_unknown_api_key_is_rejected_with_2015(exchange: LocalExchange) -> None:
    expected = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    missing = await call(exchange, "GET", "/fapi/v2/balance", signed=True, api_key=None)
    unknown = await call(exchange, "GET", "/fapi/v2/balance", signed=True, api_key="x" * 64)
    listen_key = await call(exchange, "POST", "/fapi/v1/listenKey", api_key=None)
    assert (missing.status, missing.body) == (401, expected)
    assert (unknown.status, unknown.body) == (401, expected)
    assert listen_key.body == expected


async def test_query_and_body_are_signed_concatenated_as_received(exchange: LocalExchange) -> None:
    """Binance signs ``query + body`` with no ``&`` between them; the signature may end the body."""
    query = urlencode({"symbol": "BTCUSDT", "leverage": 7})
    body = urlencode({"timestamp": int(time.time() * 1000)})
    body += "&signature=" + signature(exchange.credentials.api_secret, query + body).upper()
    headers = {"X-MBX-APIKEY": exchange.credentials.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as session:
        url = f"{exchange.rest_url}/fapi/v1/leverage?{query}"
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["leverage"] == 7


async def test_unsigned_call_to_a_signed_endpoint_names_the_missing_parameter(exchange: LocalExchange) -> None:
    answer = await call(exchange, "GET", "/fapi/v2/balance", timestamp=1)
    assert answer.body == {
        "code": -1102,
        "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    }
