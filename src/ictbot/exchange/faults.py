"""Fault knobs the tests and the admin endpoint turn: what a flaky venue does to a client."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Request-level faults; connection, order and listen-key faults live on :class:`LocalExchange` methods.

    ``failures`` holds HTTP statuses for the next requests (500/502 with -1001, 503 "Service Unavailable.");
    ``unknown_status`` holds, per coming order request, whether the order is executed before the 503 -1007 answer.
    """

    latency_ms: int = 0
    clock_skew_ms: int = 0
    failures: deque[int] = field(default_factory=deque)
    unknown_status: deque[bool] = field(default_factory=deque)
