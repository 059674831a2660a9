"""The strategy SDK: everything a strategy imports, built-in or your own.

A strategy is one class: it names itself, owns a pydantic settings class (whose fields may carry search ranges for
the optimiser), declares its timeframes through those settings, and answers each closed candle's ``Context`` with
signals. The context holds the closed candles of every declared timeframe (a bounded window), every ICT detector's
state as of that candle, and a read-only view of the open position. The framework runs the detectors — from
timelines in a backtest, incrementally live — so the same strategy gives the same signals in both::

    from ictbot.sdk import Context, Side, Strategy, StrategySettings, Timeframe

    class MySettings(StrategySettings):
        entry_timeframe: Timeframe = Timeframe.M5

    class MyStrategy(Strategy[MySettings]):
        name = "mine"
        Settings = MySettings

        def on_candle(self, ctx: Context):
            ...

See docs/strategies.md for the guide and ``ictbot strategy new`` for a template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ictbot.domain import Candle, OrderType, Side, Signal, Timeframe
from ictbot.ict.config import IctConfig
from ictbot.ict.records import (
    BreakerBlock,
    FairValueGap,
    LiquidityLevel,
    OrderBlock,
    Record,
    SessionRange,
    StructureBreak,
    Swing,
)
from ictbot.ict.structure import DealingRange
from ictbot.strategy.detectors import Detectors, Sweep
from ictbot.strategy.params import SearchChoice, SearchRange, search_space

if TYPE_CHECKING:
    from ictbot.data.frame import CandleFrame

__all__ = [
    "BreakerBlock",
    "Candle",
    "Candles",
    "ClosePosition",
    "Context",
    "DealingRange",
    "Detectors",
    "FairValueGap",
    "IctConfig",
    "LiquidityLevel",
    "MoveStop",
    "OrderBlock",
    "OrderType",
    "Position",
    "PositionAction",
    "Record",
    "SearchChoice",
    "SearchRange",
    "SessionRange",
    "Side",
    "Signal",
    "Strategy",
    "StrategySettings",
    "StructureBreak",
    "Sweep",
    "SweepThenBreak",
    "Swing",
    "TakePartial",
    "Timeframe",
    "Wake",
    "search_space",
    "stop_beyond",
    "sweeps_then_breaks",
]


class StrategySettings(BaseModel):
    """Base of every strategy's settings: validated with the rest of the config, frozen, unknown keys refused.

    Every field typed ``Timeframe`` (or a tuple of them) is a timeframe the strategy reads; override ``timeframes``
    to say otherwise. ``name`` and ``path`` say which strategy the settings are for; the loader fills them in.
    """

    # Every number must be finite, as in the rest of the settings: ``.inf`` would switch a rule off.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field("", description="a built-in strategy or one registered under the `ictbot.strategies` group")
    path: str | None = Field(None, description="a strategy file, `file.py` or `file.py:ClassName`, instead of a name")

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        found: set[Timeframe] = set()
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Timeframe):
                found.add(value)
            elif isinstance(value, tuple | list | frozenset) and all(isinstance(v, Timeframe) for v in value):
                found.update(value)
        return frozenset(found)

    def detectors(self) -> IctConfig:
        """The detector parameters the framework runs for this strategy."""
        return IctConfig()


SettingsT = TypeVar("SettingsT", bound=StrategySettings)


@dataclass(frozen=True, slots=True)
class Wake:
    """A backtest's shortcut: the only candles of ``timeframe`` on which ``on_candle`` can return a signal.

    ``on``: ``"candle"`` every candle; ``"fvg"`` a fair value gap became known; ``"structure_break"`` a BOS or
    CHoCH became known — optionally only when a sweep of the same direction happened within ``after_sweep_within``
    candles and the trend of every ``trend_agrees`` timeframe points the same way. The live engine and the stepwise
    backtest call the strategy on every candle, so a wrong promise shows up as a difference in
    ``ictbot strategy check``.
    """

    timeframe: Timeframe
    on: Literal["candle", "fvg", "structure_break"] = "candle"
    after_sweep_within: int | None = None
    trend_agrees: tuple[Timeframe, ...] = ()


@dataclass(frozen=True, slots=True)
class Position:
    """The open position of the context's symbol, read-only: ``side``, size, average entry and its protection."""

    side: Side
    quantity: float
    entry_price: float
    opened_at: int
    stop: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class MoveStop:
    """Move the open position's protective stop to ``price`` (e.g. break-even). Live, the new stop is placed on the
    venue before the old one is cancelled, so the position is never without one."""

    symbol: str
    created_at: int
    price: float
    reason: str = "move stop"


@dataclass(frozen=True, slots=True)
class TakePartial:
    """Close ``fraction`` (0 < f < 1) of the open position at market; the stop and target keep guarding the rest."""

    symbol: str
    created_at: int
    fraction: float
    reason: str = "partial"


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """Close the whole position at market (a time stop, an invalidated setup) and cancel its protection."""

    symbol: str
    created_at: int
    reason: str = "close"


PositionAction = MoveStop | TakePartial | ClosePosition


class Candles:
    """The closed candles of one timeframe up to now, oldest first, at most ``Strategy.history`` of them.

    ``candles[-1]`` is the last closed one; ``open``, ``high``, ``low``, ``close``, ``volume`` and ``open_time`` are
    numpy arrays of the window."""

    __slots__ = ("_frame", "_list")

    def __init__(self, frame: CandleFrame | None = None, items: Sequence[Candle] | None = None) -> None:
        self._frame = frame
        self._list = items

    def __len__(self) -> int:
        return len(self._frame) if self._frame is not None else len(self._list or ())

    def __getitem__(self, k: int) -> Candle:
        if self._frame is not None:
            n = len(self._frame)
            if not -n <= k < n:
                raise IndexError(k)
            return self._frame.candle(k % n)
        assert self._list is not None
        return self._list[k]

    def _column(self, name: str) -> np.ndarray:
        if self._frame is not None:
            return getattr(self._frame, name)
        dtype = np.int64 if name == "open_time" else np.float64
        return np.fromiter((getattr(c, name) for c in self._list or ()), dtype=dtype)

    @property
    def open_time(self) -> np.ndarray:
        return self._column("open_time")

    @property
    def open(self) -> np.ndarray:
        return self._column("open")

    @property
    def high(self) -> np.ndarray:
        return self._column("high")

    @property
    def low(self) -> np.ndarray:
        return self._column("low")

    @property
    def close(self) -> np.ndarray:
        return self._column("close")

    @property
    def volume(self) -> np.ndarray:
        return self._column("volume")


class _Source:
    """What the framework hands a context: the candles and detectors of each timeframe as of now."""

    def candles(self, timeframe: Timeframe) -> Candles: ...

    def detectors(self, timeframe: Timeframe) -> Detectors: ...


class Context:
    """One closed candle as the strategy sees it. Nothing in it is later than the candle's close."""

    __slots__ = ("_account", "_source", "candle", "symbol", "timeframe")

    def __init__(
        self,
        symbol: str,
        timeframe: Timeframe,
        candle: Candle,
        source: _Source,
        account: Callable[[str], Position | None] = lambda symbol: None,
    ) -> None:
        self.symbol = symbol
        self.timeframe = timeframe  # the timeframe whose candle just closed
        self.candle = candle
        self._source = source
        self._account = account

    @property
    def time(self) -> int:
        """When the decision is made: the candle's close (epoch ms); a signal's ``created_at``."""
        return self.candle.open_time + self.timeframe.ms

    def candles(self, timeframe: Timeframe | None = None) -> Candles:
        """Closed candles of ``timeframe`` (default: the one that just closed) up to now."""
        return self._source.candles(timeframe or self.timeframe)

    def ict(self, timeframe: Timeframe | None = None) -> Detectors:
        """Every ICT detector of ``timeframe`` (default: the one that just closed) after its last closed candle."""
        return self._source.detectors(timeframe or self.timeframe)

    @property
    def position(self) -> Position | None:
        """The symbol's open position, if any."""
        return self._account(self.symbol)

    def move_stop(self, price: float, reason: str = "move stop") -> MoveStop:
        return MoveStop(self.symbol, self.time, price, reason)

    def take_partial(self, fraction: float, reason: str = "partial") -> TakePartial:
        if not 0 < fraction < 1:
            raise ValueError(f"take_partial needs 0 < fraction < 1 (got {fraction}); use close() for all of it")
        return TakePartial(self.symbol, self.time, fraction, reason)

    def close(self, reason: str = "close") -> ClosePosition:
        return ClosePosition(self.symbol, self.time, reason)

    def limit(
        self,
        side: Side,
        entry: float,
        stop: float,
        target: float,
        reason: str,
        ttl_candles: int | None = None,
        evidence: tuple = (),
    ) -> Signal:
        """A limit-entry signal decided now; unfilled after ``ttl_candles`` of this timeframe it is cancelled."""
        return Signal(
            symbol=self.symbol,
            side=side,
            entry=entry,
            stop=stop,
            target=target,
            created_at=self.time,
            reason=reason,
            order_type=OrderType.LIMIT,
            expires_at=None if ttl_candles is None else self.time + ttl_candles * self.timeframe.ms,
            evidence=evidence,
        )


@dataclass(frozen=True, slots=True)
class SweepThenBreak:
    """The classic ICT trigger: ``brk``, a BOS or CHoCH that became known on this candle, after ``sweep``, the last
    liquidity sweep of the same direction. ``direction`` +1 bullish, −1 bearish; ``side`` the entry's side."""

    brk: StructureBreak
    sweep: Sweep

    @property
    def direction(self) -> int:
        return self.brk.direction

    @property
    def side(self) -> Side:
        return Side.BUY if self.brk.direction > 0 else Side.SELL


def sweeps_then_breaks(ctx: Context, within: int, trend_agrees: Iterable[Timeframe] = ()) -> list[SweepThenBreak]:
    """The structure breaks of ``ctx``'s timeframe known on this candle that follow a same-direction sweep within
    ``within`` candles, with the trend of every ``trend_agrees`` timeframe pointing the same way; oldest first.

    It finds exactly what ``Wake(tf, "structure_break", after_sweep_within=within, trend_agrees=...)`` promises a
    backtest, so a strategy built on it can declare that wake and keep its promise."""
    ict = ctx.ict()
    now = ctx.candle.open_time
    breaks = [r for r in ict.records if isinstance(r, StructureBreak) and r.known_at == now]
    if not breaks:
        return []
    sweeps = ict.sweeps(within=within)
    trends = [ctx.ict(tf).trend for tf in trend_agrees]
    found = []
    for brk in breaks:
        same_way = [sw for sw in sweeps if sw.direction == brk.direction]
        if same_way and all(trend == brk.direction for trend in trends):
            found.append(SweepThenBreak(brk, same_way[-1]))
    return found


def stop_beyond(level: float, direction: int, entry: float, buffer_pct: float) -> float:
    """A stop ``buffer_pct`` % of the entry price beyond ``level`` (below it for a long, ``direction`` +1; above it
    for a short): the buffer keeps the stop out of the wick that swept the level."""
    return level - direction * entry * buffer_pct / 100


class Strategy(Generic[SettingsT]):
    """Base of every strategy. Subclasses set ``name`` and ``Settings`` and implement ``on_candle``.

    ``on_candle`` is called once per closed candle of each declared timeframe, finest first when several close
    together. It must decide from the context alone (or from state derived only from earlier contexts), so that a
    backtest cut at any candle gives the same signals as the full run up to the cut — ``ictbot strategy check``
    proves it. ``history`` bounds the candle window and how far back ``Detectors.sweeps`` can look.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[StrategySettings]] = StrategySettings
    history: ClassVar[int] = 200

    def __init__(self, settings: SettingsT | None = None) -> None:
        self.settings: SettingsT = settings if settings is not None else self.Settings(name=self.name)  # type: ignore[assignment]

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return self.settings.timeframes

    def wake(self) -> Sequence[Wake]:
        """Backtest-only promise of where signals can come from (see ``Wake``); empty: every candle."""
        return ()

    def on_candle(self, ctx: Context) -> Iterable[Signal]:
        raise NotImplementedError(f"{type(self).__name__} must implement on_candle(ctx)")

    def manage(self, ctx: Context) -> Iterable[PositionAction]:
        """Called after ``on_candle`` on every closed candle while ``ctx.position`` is open: return the actions
        (``ctx.move_stop``, ``ctx.take_partial``, ``ctx.close``) to apply. They take effect from the next candle,
        at the same fill model in a backtest as the stops and targets."""
        return ()
