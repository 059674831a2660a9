"""The conformance kit any strategy must pass before it trades: ``ictbot strategy check``.

- **settings**: the defaults validate, every declared search range is valid and its ends are accepted;
- **determinism**: two backtests give the same signals and position actions;
- **fast == stepwise**: the scheduled backtest (timelines, ``Wake``) equals the candle-by-candle path the live engine
  runs, so a ``Wake`` that skips a candle which could signal is caught;
- **no lookahead**: backtests cut just after several signals and at fixed fractions of the history give exactly the
  full run's signals and position actions up to the cut; a strategy that reads a candle it has not yet been given
  cannot reproduce a signal made on the last candle before the cut.

A failure names the first differing signal (or action) and the time of the candle close that decided it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from ictbot.backtest.runner import BacktestResult, run_backtest, run_backtest_stepwise
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame, iso
from ictbot.domain import Signal
from ictbot.sdk import PositionAction
from ictbot.strategy.loader import resolve
from ictbot.strategy.params import SearchChoice, SearchRange, search_space

PREFIX_FRACTIONS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def check_strategy(
    settings: Settings, frames: list[CandleFrame], signal_cuts: int = 6, progress: Callable[[str], None] | None = None
) -> list[Check]:
    """Run every check on the configured strategy over ``frames``; returns one ``Check`` per kind."""
    say = progress or (lambda _: None)
    checks = [_settings_check(settings)]
    say(checks[-1].name)
    full = run_backtest(settings, frames)
    again = run_backtest(settings, frames)
    checks.append(_compare("determinism", _decisions(full), _decisions(again), "the first run", "the second run"))
    say(checks[-1].name)
    stepwise = run_backtest_stepwise(settings, frames)
    checks.append(
        _compare(
            "fast backtest == stepwise", _decisions(full), _decisions(stepwise), "the fast backtest", "the stepwise run"
        )
    )
    say(checks[-1].name)
    checks.append(_lookahead(settings, frames, _decisions(full), signal_cuts))
    say(checks[-1].name)
    if not full.signals:
        checks.append(Check("signals", False, "the strategy made no signal on this data: nothing above is proven"))
    return checks


def _settings_check(settings: Settings) -> Check:
    s = settings.strategy
    cls = resolve(s.name, s.path)
    try:
        cls.Settings.model_validate({"name": s.name, "path": s.path})
        space = search_space(cls.Settings)
        for field, spec in space.items():
            ends = spec.choices if isinstance(spec, SearchChoice) else (spec.low, spec.high)
            for value in ends:
                if isinstance(spec, SearchRange) and cls.Settings.model_fields[field].annotation is int:
                    value = int(value)
                type(s).model_validate({**s.model_dump(), field: value})
    except (ValidationError, ValueError) as exc:
        return Check("settings", False, f"{cls.Settings.__name__}: {exc}")
    ranges = ", ".join(space) or "none"
    return Check("settings", True, f"defaults valid; search ranges ({ranges}) accepted at both ends")


Decision = Signal | PositionAction


def _decisions(result: BacktestResult) -> list[Decision]:
    """Signals and position actions in the order they were made (stable: a candle's signals before its actions)."""
    return sorted([*result.signals, *result.actions], key=lambda d: d.created_at)


def _compare(name: str, a: list[Decision], b: list[Decision], a_name: str, b_name: str) -> Check:
    first = _first_difference(a, b)
    if first is None:
        actions = sum(1 for d in a if not isinstance(d, Signal))
        return Check(name, True, f"{len(a) - actions} signals and {actions} position actions identical")
    return Check(name, False, _describe(first, a, b, a_name, b_name))


def _lookahead(settings: Settings, frames: list[CandleFrame], signals: list[Decision], signal_cuts: int) -> Check:
    start = min(int(f.open_time[0]) for f in frames)
    end = max(int(f.open_time[-1]) for f in frames)
    cuts = {int(start + (end - start) * q) for q in PREFIX_FRACTIONS}
    if signals:
        step = max(1, len(signals) // signal_cuts)
        cuts |= {signals[k].created_at for k in range(0, len(signals), step)}
    for cut in sorted(cuts):
        prefix = [f.between(None, cut) for f in frames]
        prefix = [f for f in prefix if len(f)]
        if not prefix:
            continue
        cut_signals = _decisions(run_backtest(settings, prefix))
        expected = [s for s in signals if s.created_at <= cut]
        first = _first_difference(expected, cut_signals)
        if first is not None:
            detail = _describe(first, expected, cut_signals, "the full run", f"the run cut at {iso(cut)}")
            return Check("no lookahead", False, detail)
    return Check("no lookahead", True, f"{len(cuts)} cuts, each equal to the full run up to the cut")


def _first_difference(a: list[Decision], b: list[Decision]) -> int | None:
    for k, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return k
    return None if len(a) == len(b) else min(len(a), len(b))


def _describe(k: int, a: list[Decision], b: list[Decision], a_name: str, b_name: str) -> str:
    """The earliest difference: a signal one side made and the other did not, or two different signals at once."""
    x = a[k] if k < len(a) else None
    y = b[k] if k < len(b) else None
    if x is not None and y is not None and x.created_at > y.created_at:
        x = None
    elif x is not None and y is not None and y.created_at > x.created_at:
        y = None
    shown = x or y
    assert shown is not None
    what = "signal" if isinstance(shown, Signal) else "position action"
    where = f"{what} #{k + 1}, decided at {iso(shown.created_at)} on {shown.symbol}"
    if x is None or y is None:
        missing, having = (a_name, b_name) if x is None else (b_name, a_name)
        return f"{where}: {having} made it ({_signal(shown)}), {missing} did not"
    return f"{where}: {a_name} made {_signal(x)}, {b_name} made {_signal(y)}"


def _signal(d: Decision) -> str:
    if isinstance(d, Signal):
        return f"{d.side.value} {d.entry:g} stop {d.stop:g} target {d.target:g} ({d.reason})"
    return repr(d)
