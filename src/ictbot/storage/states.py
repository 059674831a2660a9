"""Vocabularies the recorder writes: order states and bot event kinds."""

from __future__ import annotations

import enum


class OrderState(enum.StrEnum):
    """An order's life on the venue; the first state is the intent persisted before anything is sent."""

    INTENT = "intent"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    def advances_to(self, new: OrderState) -> bool:
        """Whether an order now in ``self`` takes ``new`` as its current state.

        Venue events arrive late, twice or out of order: a state never moves backwards and never leaves a terminal
        state; ``unknown`` (the outcome of a send is not known) is left for whatever the venue says next.
        """
        if self.is_terminal:
            return False
        if self is OrderState.UNKNOWN or new is OrderState.UNKNOWN:
            return True
        return _RANK[new] >= _RANK[self]


_TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.EXPIRED})
_RANK = {
    OrderState.INTENT: 0,
    OrderState.SENT: 1,
    OrderState.ACKNOWLEDGED: 2,
    OrderState.PARTIALLY_FILLED: 3,
    **dict.fromkeys(_TERMINAL, 4),
}
OPEN_STATES = tuple(s for s in OrderState if not s.is_terminal)


class EventKind(enum.StrEnum):
    """Known bot event kinds; ``record_event`` takes any string so a new kind never loses an event."""

    STARTUP = "startup"
    SHUTDOWN = "shutdown"
    READINESS = "readiness"
    TASK_CRASH = "task_crash"
    TASK_RESTART = "task_restart"
    TRADING_STATE = "trading_state"
    CONTROL = "control"
    RECONCILIATION = "reconciliation"
