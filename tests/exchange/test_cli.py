"""``ictbot exchange serve`` prints where to connect and the funded account's credentials."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest
import typer

from ictbot.exchange.cli import parse_speed
from ictbot.exchange.signing import signature

from .conftest import DATA

SERVE = "from ictbot.exchange.cli import exchange_app; exchange_app()"


def test_speed_accepts_multiples_and_max() -> None:
    assert parse_speed("60") == 60
    assert parse_speed("max") == math.inf
    with pytest.raises(typer.BadParameter):
        parse_speed("0")


def test_serve_prints_urls_and_credentials() -> None:
    args = [sys.executable, "-c", SERVE, "serve", "--port", "0", "--speed", "1", "--warmup", "50"]
    args += ["--data", str(DATA / "LINKUSDT-1m-2023-02.zip")]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as process:
        try:
            lines = [process.stdout.readline() for _ in range(5)]
        finally:
            process.terminate()
    assert lines[0].startswith("REST base URL: http://127.0.0.1:")
    assert lines[1].startswith("WebSocket base URL: ws://127.0.0.1:")
    assert "LINKUSDT" in lines[2]
    assert lines[3].startswith("API key: ") and len(lines[3].split()[-1]) == 64
    assert lines[4].startswith("API secret: ") and len(lines[4].split()[-1]) == 64


def test_serve_refuses_symbol_with_several_files() -> None:
    args = [sys.executable, "-c", SERVE, "serve", "--symbol", "BTCUSDT"]
    args += ["--data", str(DATA / "LINKUSDT-1m-2023-02.zip"), "--data", str(DATA / "LINKUSDT-1m-2023-02.zip")]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "single data file" in result.stderr


def test_serve_survives_clock_stops_and_starts_with_fixed_credentials_and_history_shifted_to_now() -> None:
    key, secret = "k" * 64, "s" * 64
    args = [sys.executable, "-c", SERVE, "serve", "--port", "0", "--speed", "1", "--warmup", "50", "--shift-to-now"]
    args += ["--data", str(DATA / "LINKUSDT-1m-2023-02.zip"), "--api-key", key]
    env = {**os.environ, "ICTBOT_EXCHANGE_API_SECRET": secret}
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            lines = [process.stdout.readline() for _ in range(5)]
            base = lines[0].split()[3]
            assert lines[3] == f"API key: {key}\n" and secret not in lines[4]
            for action, body in (("stop_clock", {}), ("start_clock", {"speed": 1}), ("stop_clock", {})):
                answer = _request(f"{base}/admin/{action}", json.dumps(body).encode())
                assert answer["ok"], action
            state = _request(f"{base}/admin/state")
            assert process.poll() is None, "the exchange exited"
            assert abs(state["now"] - time.time() * 1000) < 5 * 60_000  # the replay starts now, not in 2023
            query = f"timestamp={int(time.time() * 1000)}"
            signed = f"{base}/fapi/v2/balance?{query}&signature={signature(secret, query)}"
            balances = _request(signed, headers={"X-MBX-APIKEY": key})
            assert any(b["asset"] == "USDT" for b in balances)
        finally:
            process.terminate()


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())
