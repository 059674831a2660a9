"""The engine's own halts: trading stops while reconciliation fails or a critical stage keeps crashing, and resumes
by itself once no such cause is left — but an operator's halt is the operator's to lift."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ictbot.risk.gate import RiskGate, TradingState

log = logging.getLogger("ictbot.engine")


class AutoHalts:
    """The causes of the engine's halt (``reconciliation``, ``stage:<name>``) over the pipeline's risk gate."""

    def __init__(self, gate: Callable[[], RiskGate]) -> None:
        self._gate = gate
        self._causes: dict[str, str] = {}

    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(self._causes)

    def halt(self, cause: str, reason: str) -> None:
        """Halt for ``cause`` unless an operator already halted (their halt is theirs to lift)."""
        gate = self._gate()
        if gate.state is TradingState.HALTED and not self._causes:
            return
        if gate.state is not TradingState.HALTED:
            gate.halt(reason)
        self._causes[cause] = reason

    def lift(self, cause: str, why: str) -> None:
        """Trading resumes only when every cause of the engine's halt is gone: never while a critical stage fails."""
        if self._causes.pop(cause, None) is None:
            return
        if self._causes:
            log.warning("%s; trading stays HALTED: %s", why, "; ".join(self._causes.values()))
            return
        self._gate().resume()
        log.warning("%s; trading resumed", why)

    def clear(self) -> None:
        """An operator acted: the halt, or the lifting of it, is now theirs."""
        self._causes.clear()
