"""Remote control over Telegram: ``/status``, ``/positions``, ``/pause``, ``/resume`` and ``/flatten`` (confirmed by
a one-time code) from the configured chats only.

Commands arrive by long polling ``getUpdates``. The id of the next update is written to ``<data_dir>/telegram-offset``
before a command is carried out, so a restart (even after SIGKILL) never carries one out twice: at most once, never
twice, is the right way round for a kill switch. Actions go through the engine's own control methods, which log and
record each as a control event with its source (``telegram:<chat id>``), exactly as the HTTP API's do. The bot token
only ever appears in the request URL, which is never logged.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from ictbot.data.frame import iso
from ictbot.errors import ConfigError
from ictbot.kernel.clock import Clock
from ictbot.runtime.supervisor import RestartPolicy, StageContext

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.telegram")
OFFSET_FILE = "telegram-offset"
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
HELP = (
    "/status: trading state, readiness, equity\n"
    "/positions: open positions with mark and unrealized PnL\n"
    "/pause: no new entries (positions keep their stops and targets)\n"
    "/resume: take entries again\n"
    "/flatten: cancel every order, close every position, halt trading (asks for a code)"
)


def attach_telegram(engine: Engine, restart: RestartPolicy) -> None:
    """Register the ``telegram`` stage: non-critical, so a Telegram outage is logged and retried, never a reason to
    stop trading."""
    assert engine.supervisor is not None
    control = TelegramControl(engine)
    engine.supervisor.add("telegram", control.run, critical=False, restart=restart, beat_timeout_s=math.inf)


class UpdateOffset:
    """The id of the next update to ask Telegram for, kept on disk (written whole, then renamed into place)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except FileNotFoundError:
            return None
        except ValueError:
            raise ConfigError(
                f"{self.path} does not hold an update id; delete it (Telegram then sends the commands it still holds)"
            ) from None

    def save(self, offset: int) -> None:
        """On disk when this returns: a crash right after cannot bring the update back."""
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as handle:
            handle.write(f"{offset}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


@dataclass(frozen=True, slots=True)
class _Pending:
    code: str
    deadline_ms: int


class FlattenConfirmation:
    """One-time codes for ``/flatten``, one per chat, valid ``window_s`` seconds of ``clock`` and used up by any answer,
    right or wrong (a guess costs the code)."""

    def __init__(self, clock: Clock, window_s: float) -> None:
        self._clock = clock
        self.window_s = window_s
        self._pending: dict[int, _Pending] = {}

    def issue(self, chat_id: int) -> str:
        code = f"{secrets.randbelow(1_000_000):06d}"
        self._pending[chat_id] = _Pending(code, self._clock.now_ms() + round(self.window_s * 1000))
        return code

    def confirm(self, chat_id: int, code: str) -> str | None:
        """``None`` when ``code`` confirms this chat's pending flatten; otherwise why it does not."""
        pending = self._pending.pop(chat_id, None)
        if pending is None:
            return "no flatten is waiting for a code"
        if self._clock.now_ms() > pending.deadline_ms:
            return f"the code expired ({self.window_s:.0f} s)"
        if not secrets.compare_digest(code.strip().encode(), pending.code.encode()):
            return "wrong code"
        return None


class _Refused(Exception):
    """Telegram answered, but not with success."""


class TelegramControl:
    """The ``telegram`` stage: poll for commands, carry out those from the configured chats, answer in the chat."""

    def __init__(self, engine: Engine) -> None:
        settings = engine.settings.notify
        assert settings.telegram_token is not None
        self._engine = engine
        self._settings = settings
        self._base = f"{settings.telegram_api_url.rstrip('/')}/bot{settings.telegram_token.get_secret_value()}"
        self._allowed = frozenset(settings.telegram_control_chat_ids)
        self._offset = UpdateOffset(engine.settings.data_dir / OFFSET_FILE)
        self._confirmation = FlattenConfirmation(engine.wall, settings.telegram_confirm_s)

    async def run(self, ctx: StageContext) -> None:
        s = self._settings
        # A long poll lasts up to its own timeout; the request gets that plus one delivery's time, then fails.
        timeout = aiohttp.ClientTimeout(total=s.telegram_poll_timeout_s + s.timeout_s)
        offset = self._offset.load()
        delay = FIRST_BACKOFF_S
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    updates = await self._call(session, "getUpdates", self._poll_body(offset))
                except (aiohttp.ClientError, TimeoutError, ValueError, _Refused) as exc:
                    reason = str(exc) if isinstance(exc, _Refused) else type(exc).__name__
                    log.warning("telegram getUpdates failed: %s; asking again in %.0f s", reason, delay)
                    ctx.beat()
                    await self._engine.wall.sleep(delay)
                    delay = min(2 * delay, MAX_BACKOFF_S)
                    continue
                delay = FIRST_BACKOFF_S
                ctx.beat()
                for update in updates:
                    offset = int(update["update_id"]) + 1
                    self._offset.save(offset)  # before the command: a crash now loses it rather than repeats it
                    await self._handle(session, update.get("message") or {})

    def _poll_body(self, offset: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"timeout": self._settings.telegram_poll_timeout_s, "allowed_updates": ["message"]}
        if offset is not None:
            body["offset"] = offset
        return body

    async def _handle(self, session: aiohttp.ClientSession, message: dict[str, Any]) -> None:
        text, chat_id = message.get("text"), (message.get("chat") or {}).get("id")
        match = _COMMAND.match(text.strip()) if isinstance(text, str) else None
        if match is None or not isinstance(chat_id, int):
            return
        command, argument = match.group(1).lower(), (match.group(2) or "").strip()
        if chat_id not in self._allowed:
            log.warning(
                "telegram command /%s from chat %d ignored: that chat is not in notify.telegram_control_chat_ids",
                command,
                chat_id,
            )
            return
        age_s = (self._engine.wall.now_ms() - int(message.get("date", 0)) * 1000) / 1000
        if age_s > self._settings.telegram_command_max_age_s:
            log.warning("telegram command /%s from chat %d not carried out: sent %.0f s ago", command, chat_id, age_s)
            reply = (
                f"/{command} was sent {age_s:.0f} s ago, while the bot was not reading: not carried out. Send it again."
            )
        else:
            reply = await self._command(command, argument, chat_id)
        await self._send(session, chat_id, reply)

    async def _command(self, command: str, argument: str, chat_id: int) -> str:
        source = f"telegram:{chat_id}"
        engine = self._engine
        try:
            if command == "status":
                return self._status()
            if command == "positions":
                return self._positions()
            if command == "pause":
                await engine.pause_entries(source)
                return "Paused: no new entries; open positions keep their stops and targets. /resume to trade again."
            if command == "resume":
                await engine.resume_entries(source)
                return "Resumed: the bot takes entries again."
            if command == "flatten":
                return await self._flatten(argument, chat_id, source)
        except ConfigError as exc:
            return f"/{command} refused: {exc}"
        except Exception as exc:  # the stage answers and goes on; the log has the traceback
            log.exception("telegram command /%s failed", command)
            return f"/{command} failed ({type(exc).__name__}); see the bot's log"
        return HELP if command in ("help", "start") else f"Unknown command /{command}.\n{HELP}"

    async def _flatten(self, argument: str, chat_id: int, source: str) -> str:
        if not argument:
            code = self._confirmation.issue(chat_id)
            window = self._confirmation.window_s
            return (
                "/flatten cancels every order, closes every position at market and HALTS trading. "
                f"To confirm, send /flatten {code} within {window:.0f} s."
            )
        problem = self._confirmation.confirm(chat_id, argument)
        if problem is not None:
            return f"Not flattened: {problem}. Send /flatten for a new code."
        fills = await self._engine.flatten(source)
        closed = f"{len(fills)} closing fill(s)" if fills else "closing orders sent"
        return (
            f"Flattened: every order cancelled, every position closed at market ({closed}); trading HALTED. "
            "/resume to trade again."
        )

    def _status(self) -> str:
        engine = self._engine
        pipeline = engine.pipeline
        if pipeline is None or engine.health is None:
            raise ConfigError("the bot is still starting; try again once it runs")
        s, now = engine.settings, engine.clock.now_ms()
        readiness = engine.health.readiness(now)
        gate = pipeline.gate
        lines = [
            f"ictbot {s.mode}: {', '.join(s.symbols)}, strategy {s.strategy.name}",
            f"trading: {gate.state.value}" + (f" ({gate.state_reason})" if gate.state_reason else ""),
            "ready: yes" if readiness.ready else f"ready: NO (failing: {', '.join(readiness.failing)})",
            f"equity: {_usdt(pipeline.portfolio.cash + sum(_unrealized(engine).values(), Decimal(0)))} USDT, "
            f"open positions: {pipeline.portfolio.open_position_count()}",
            f"market time: {iso(now)}",
        ]
        progress = engine.replay_progress()
        if progress is not None:
            lines.append(f"replay: {progress['progress_pct']:.1f}% done")
        return "\n".join(lines)

    def _positions(self) -> str:
        engine = self._engine
        if engine.pipeline is None:
            raise ConfigError("the bot is still starting; try again once it runs")
        pipeline = engine.pipeline
        unrealized = _unrealized(engine)
        lines = []
        for position in pipeline.portfolio.positions.values():
            if position.quantity == 0:
                continue
            side = "LONG" if position.quantity > 0 else "SHORT"
            mark = pipeline.marks.get(position.symbol)
            pnl = unrealized.get(position.symbol)
            lines.append(
                f"{position.symbol} {side} {_plain(abs(position.quantity))} @ {_plain(position.entry_price)}, "
                + ("mark unknown" if mark is None or pnl is None else f"mark {mark}, unrealized {_usdt(pnl)} USDT")
            )
        return "\n".join(lines) or "No open positions."

    async def _call(self, session: aiohttp.ClientSession, method: str, body: dict[str, Any]) -> Any:
        """One Bot API call; its URL holds the token, so neither it nor an exception that quotes it is logged."""
        async with session.post(f"{self._base}/{method}", json=body) as response:
            answer = await response.json(content_type=None)
        if not isinstance(answer, dict) or not answer.get("ok"):
            described = answer.get("description", "") if isinstance(answer, dict) else ""
            raise _Refused(f"HTTP {response.status} {described}".strip())
        return answer["result"]

    async def _send(self, session: aiohttp.ClientSession, chat_id: int, text: str) -> None:
        try:
            await self._call(session, "sendMessage", {"chat_id": chat_id, "text": text})
        except (aiohttp.ClientError, TimeoutError, ValueError, _Refused) as exc:
            reason = str(exc) if isinstance(exc, _Refused) else type(exc).__name__
            log.warning("telegram reply to chat %d failed: %s", chat_id, reason)


def _unrealized(engine: Engine) -> dict[str, Decimal]:
    """Unrealized PnL of each open position that has a mark price."""
    assert engine.pipeline is not None
    pipeline = engine.pipeline
    return {
        symbol: position.unrealized_pnl(Decimal(str(pipeline.marks[symbol])))
        for symbol, position in pipeline.portfolio.positions.items()
        if position.quantity != 0 and symbol in pipeline.marks
    }


def _plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: ``94385.5``, ``0.003``."""
    return format(value.normalize(), "f")


def _usdt(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))
