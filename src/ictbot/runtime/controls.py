"""How an operator steers a running bot — pause, resume, close a symbol, flatten, reload the strategy — each action
logged and recorded; the API and Telegram call only these."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ictbot.config import Settings, format_validation_error
from ictbot.domain import Fill
from ictbot.errors import ConfigError
from ictbot.execution.flatten import HALTED_PREFIX
from ictbot.kernel.clock import Clock
from ictbot.kernel.pipeline import Pipeline
from ictbot.risk.gate import TradingState
from ictbot.runtime.supervisor import Supervisor
from ictbot.storage import EventKind, Recorder
from ictbot.strategy.registry import build_strategy

if TYPE_CHECKING:
    from ictbot.runtime.halts import AutoHalts
    from ictbot.runtime.ports import Execution
    from ictbot.runtime.recording import Recording

log = logging.getLogger("ictbot.engine")


class Controls:
    """The engine's control surface (a part of ``Engine``)."""

    settings: Settings
    recorder: Recorder | None
    recording: Recording
    halts: AutoHalts
    execution: Execution

    pipeline: Pipeline | None
    supervisor: Supervisor | None
    clock: Clock

    def failing_critical_stages(self) -> list[str]:
        """Critical stages that keep crashing: the bot is not alive as a trading bot while any is listed."""
        if self.supervisor is None:
            return []
        return [st.name for st in self.supervisor.statuses(self.clock.now_ms()) if st.critical and st.failing]

    def _require_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise ConfigError("the bot is still starting; try again once it runs")
        return self.pipeline

    async def pause_entries(self, source: str) -> None:
        """No new entries until ``resume_entries``; open positions keep their stops and targets."""
        self._require_pipeline().gate.halt(f"entries paused by {source}")
        self.halts.clear()  # the operator's halt now: only they lift it
        self._control("pause", source)
        self._record_trading_state(f"{HALTED_PREFIX}: entries paused by {source}", source)

    async def resume_entries(self, source: str) -> None:
        """Trade again; refused while a critical stage keeps crashing (the bot could not trade safely)."""
        pipeline = self._require_pipeline()
        failing = self.failing_critical_stages()
        if failing:
            raise ConfigError(
                f"cannot resume: stage {', '.join(failing)} keeps crashing; trading resumes by itself once it runs"
            )
        pipeline.gate.resume()
        self.halts.clear()
        self._control("resume", source)
        self._record_trading_state(TradingState.ACTIVE.value, source)

    async def close_position(self, symbol: str, source: str) -> list[Fill]:
        """Cancel ``symbol``'s resting orders and close its position at market; returns the closing fills."""
        self._require_pipeline()
        if symbol not in self.settings.symbols:
            raise ConfigError(f"{symbol} is not traded by this bot; it trades {', '.join(self.settings.symbols)}")
        self._control("close_position", source, symbol)
        return await self.execution.close_now(self, symbol, f"closed by {source}")

    async def flatten(self, source: str) -> list[Fill]:
        """The kill switch: cancel every order, close every position at market, then HALT trading."""
        pipeline = self._require_pipeline()
        pipeline.gate.halt(f"flattened by {source}")
        self.halts.clear()
        self._control("flatten", source, "trading HALTED")
        self._record_trading_state(f"{HALTED_PREFIX}: flattened by {source}", source)
        fills: list[Fill] = []
        for symbol in self.settings.symbols:
            fills += await self.execution.close_now(self, symbol, f"flatten by {source}")
        return fills

    async def reload_strategy(self, params: dict[str, object], source: str) -> None:
        """Apply new strategy parameters; the strategy is rebuilt and re-learns from the candles the book holds.

        Parameters that change the timeframes are refused: the candle book is built for the running set."""
        pipeline = self._require_pipeline()
        current = self.settings.strategy
        try:
            updated = type(current).model_validate({**current.model_dump(), **params})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, None)) from None
        if updated.timeframes != current.timeframes:
            raise ConfigError("changing the strategy's timeframes needs a restart: the candle book is built for them")
        strategy = build_strategy(updated)
        for symbol in self.settings.symbols:
            for timeframe, candle in pipeline.book.history(symbol, current.timeframes):
                strategy.on_candle(symbol, timeframe, candle)
        pipeline.strategy = strategy
        self.settings = self.settings.model_copy(update={"strategy": updated})
        self._control("reload_strategy", source, ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())))

    def _control(self, action: str, source: str, detail: str = "") -> None:
        log.warning("control %s by %s%s", action, source, f": {detail}" if detail else "")
        if self.recorder is not None:
            self.recording.record(self.recorder.record_event, EventKind.CONTROL, f"{action} {detail}".strip(), source)

    def _record_trading_state(self, state: str, source: str) -> None:
        """An operator's halt outlives the process: the next start reads it back (``restore_trading_state``)."""
        if self.recorder is not None:
            self.recording.record(self.recorder.record_event, EventKind.TRADING_STATE, state, source)

    def restore_trading_state(self) -> None:
        assert self.pipeline is not None
        if self.recorder is None:
            return
        last = self.recorder.events(kind=EventKind.TRADING_STATE, limit=1)
        if last and last[0].detail.startswith(HALTED_PREFIX):
            self.pipeline.gate.halt(f"{last[0].detail} (before this start); resume through the API when ready")
            log.warning("trading starts HALTED: %s; POST /api/control/resume to trade again", last[0].detail)
