"""The optimiser finds a planted optimum, resumes an interrupted study without repeating trials, and shares one study
between worker processes."""

from __future__ import annotations

import functools

import pytest

from ictbot.data.loaders import load_candles
from ictbot.research.optimize import Problem, best_trials, completed, open_study, run_study

from .strategies import PlantedStrategy, planted, planted_settings

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def frame(data_dir):
    full = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    start = int(full.open_time[0])
    return full.between(start, start + 12 * DAY_MS)


def _problem(frame, factory=None) -> Problem:
    return Problem(
        planted_settings(),
        [frame],
        objectives=("expectancy_r",),
        min_trades=5,
        strategy_factory=factory or functools.partial(planted, frame),
    )


def test_finds_the_planted_optimum(frame, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    study = run_study(_problem(frame), url, "planted", n_trials=45, seed=3)
    best = best_trials(study, 5)[0]
    assert best.params == {"x": 7, "mode": "b"}
    assert len(completed(study)) == 45


class _Interrupting:
    """Builds planted strategies, and presses Ctrl-C when asked to build the ``stop_at``-th."""

    def __init__(self, frame, stop_at: int | None) -> None:
        self.frame, self.stop_at, self.built = frame, stop_at, 0

    def __call__(self, settings):
        self.built += 1
        if self.built == self.stop_at:
            raise KeyboardInterrupt
        return PlantedStrategy(self.frame, settings.strategy)


def test_resumes_after_interruption_without_repeating_trials(frame, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    first = _Interrupting(frame, stop_at=5)
    with pytest.raises(KeyboardInterrupt):
        run_study(_problem(frame, first), url, "resume", n_trials=12, seed=1)
    before = {t.number: (t.params, t.values) for t in completed(open_study(url, "resume", _problem(frame)))}
    assert 4 <= len(before) < 12  # four strategies were built before the interruption (duplicates build none)
    again = _Interrupting(frame, stop_at=None)
    study = run_study(_problem(frame, again), url, "resume", n_trials=12, seed=1)
    after = completed(study)
    assert len(after) == 12
    assert {t.number: (t.params, t.values) for t in after if t.number in before} == before
    assert again.built <= 12 - len(before)
    params = [tuple(sorted(t.params.items())) for t in after if "duplicate_of" not in t.user_attrs]
    assert len(params) == len(set(params))


def test_two_worker_processes_share_one_study(frame, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    study = run_study(_problem(frame), url, "jobs", n_trials=8, jobs=2, seed=5)
    trials = completed(study)
    assert len(trials) == 8
    assert len({t.user_attrs["pid"] for t in trials}) == 2
