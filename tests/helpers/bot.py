"""``ictbot run`` as its own process against a local exchange in the test's process: started, killed with SIGKILL
at a moment the exchange observes, started again on the same data directory and database, and stopped with SIGINT.
Every wait is on state the exchange or the process shows, and bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ictbot.exchange import LocalExchange

WAIT_S = 60.0  # bounds every wait; nothing is timed
POLL_S = 0.02


def bot_config(
    tmp_path: Path, exchange: LocalExchange, symbol: str, strategy: dict[str, Any], database_url: str | None = None
) -> Path:
    """A live-mode config for one symbol against ``exchange`` on loopback, data (and by default the database) under
    ``tmp_path``."""
    config = tmp_path / "ictbot.yaml"
    settings = {
        "mode": "live",
        "symbols": [symbol],
        "strategy": strategy,
        "risk": {"max_position_margin_usdt": 100},
        "venue": {
            "testnet": True,
            "rest_url": exchange.rest_url,
            "ws_url": exchange.ws_url,
            "api_key": exchange.credentials.api_key,
            "api_secret": exchange.credentials.api_secret,
        },
        "execution": {"unknown_order_settle_s": 0.05},
        "api": {"enabled": False},
        "data_dir": str(tmp_path / "data"),
        "database_url": database_url or f"sqlite:///{tmp_path / 'ictbot.sqlite'}",
    }
    config.write_text(yaml.safe_dump(settings))
    return config


def user_stream_connected(exchange: LocalExchange) -> bool:
    """A bot's user-data stream is open: it started (or restarted) and reconciled with the venue."""
    return any(not connection.market for connection in exchange.hub.connections)


class BotProcess:
    """One bot process at a time on ``config``, its output appended to ``log``; ``kill()`` is safe from inside the
    exchange's event handler, so the kill lands while the venue handles the request (no answer reaches the bot)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ICTBOT_")}  # only the config file speaks
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ictbot", "run", "--config", str(self.config)],
                cwd=self.config.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL, and return only once the process is gone: the signal is delivered asynchronously, so without the
        wait a bot still running on another core could read an answer the exchange writes next (and, say, send the
        cancel that follows it). Blocking the event loop this long is the point: the venue does nothing meanwhile."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_S)

    def output(self) -> str:
        return self.log.read_text()[-3000:]

    async def until(self, condition: Callable[[], bool], what: str, *, alive: bool = True) -> None:
        """Wait for ``condition`` (bounded by ``WAIT_S``); with ``alive``, the bot exiting meanwhile fails the test
        with its log."""
        deadline = time.monotonic() + WAIT_S
        while not condition():
            if alive and self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the bot exited ({self.process.returncode}) before {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {WAIT_S:.0f} s: {what}\n{self.output()}")
            await asyncio.sleep(POLL_S)

    async def exit_code(self) -> int:
        """The bot's exit status, waited for without blocking the exchange, which shares this event loop."""
        assert self.process is not None
        process = self.process
        await self.until(lambda: process.poll() is not None, "the bot exits", alive=False)
        return process.returncode

    async def restart_and_stop(self, exchange: LocalExchange) -> None:
        """After a kill: once the dead bot's stream is gone, start it again, let it reconcile, stop it with SIGINT;
        it must exit cleanly."""
        await self.until(lambda: not user_stream_connected(exchange), "the dead bot's stream is gone", alive=False)
        self.start()
        await self.until(lambda: user_stream_connected(exchange), "the restarted bot has reconciled")
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        assert await self.exit_code() == 0, self.output()

    def reap(self) -> None:
        """Kill a bot left running by a failed test, so no process outlives it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
