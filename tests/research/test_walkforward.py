"""Walk-forward: the test windows never reach the optimiser, and the out-of-sample record is the test windows'."""

from __future__ import annotations

import pytest

from ictbot.config import Settings
from ictbot.data.loaders import load_candles
from ictbot.errors import DataError
from ictbot.research.optimize import Problem
from ictbot.research.walkforward import walk_forward, windows

from .strategies import RecordingSettings, RecordingStrategy

DAY_MS = 86_400_000
FIVE_MIN = 300_000


def test_rolling_and_anchored_windows_by_hand():
    rolling = windows(0, 10 * DAY_MS, 4 * DAY_MS, 2 * DAY_MS, None, anchored=False)
    assert [(w.train_start // DAY_MS, w.train_end // DAY_MS, w.test_end // DAY_MS) for w in rolling] == [
        (0, 4, 6),
        (2, 6, 8),
        (4, 8, 10),
    ]
    anchored = windows(0, 10 * DAY_MS, 4 * DAY_MS, 3 * DAY_MS, DAY_MS, anchored=True)
    assert [(w.train_start, w.train_end // DAY_MS, w.test_end // DAY_MS) for w in anchored] == [
        (0, 4, 7),
        (0, 5, 8),
        (0, 6, 9),
        (0, 7, 10),
    ]
    with pytest.raises(DataError, match="shorter than one train"):
        windows(0, 5 * DAY_MS, 4 * DAY_MS, 2 * DAY_MS, None, anchored=False)


def test_test_windows_never_reach_the_optimiser(data_dir, tmp_path):
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    start = (int(frame.open_time[0]) // DAY_MS + 1) * DAY_MS
    plan = windows(start, start + 10 * DAY_MS, 4 * DAY_MS, 2 * DAY_MS, None, anchored=False)
    shown: list[list[int]] = []

    def factory(settings):
        shown.append([])
        return RecordingStrategy(shown[-1])

    settings = Settings(symbols=["BTCUSDT"]).model_copy(update={"strategy": RecordingSettings()})
    problem = Problem(settings, [frame], min_trades=0, strategy_factory=factory)
    result = walk_forward(problem, plan, n_trials=4, url=f"sqlite:///{tmp_path / 's.sqlite'}", study_prefix="wf")

    def span(a: int, b: int) -> tuple[int, int]:  # the first and last 5m candle a run on [a, b) closes
        return a, b - FIVE_MIN

    runs = [(min(seen), max(seen)) for seen in shown]
    position = 0
    for w in plan:
        trained = 0
        while runs[position] != span(w.test_start, w.test_end):
            assert runs[position] == span(w.train_start, w.train_end), f"{w.label()}: a trial saw {runs[position]}"
            trained += 1
            position += 1
        assert trained >= 1
        position += 1
    assert position == len(runs)
    assert [item.window for item in result.windows] == plan
    assert result.summary["windows"] == 3
    assert result.equity_time[0] > plan[0].test_start and result.equity_time[-1] == plan[-1].test_end
