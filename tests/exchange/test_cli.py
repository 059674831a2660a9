"""``ictbot exchange serve`` prints where to connect and the funded account's credentials."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import typer

from ictbot.exchange.cli import parse_speed

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
