"""Optuna studies over a strategy's declared search ranges (and the risk settings a user opts into).

A study lives in a database (SQLite by default, any SQLAlchemy URL such as PostgreSQL), so it resumes where it
stopped and several workers — local processes (``jobs``) or Ray tasks — share it. Each trial is one backtest of a
settings variant; its figures are kept on the trial so that reports, the deflated Sharpe ratio and the probability of
backtest overfitting can be computed from the study alone. A trial whose parameters an earlier completed trial
already had is answered from that trial instead of being backtested again.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from ictbot.backtest.metrics import daily_returns, ratios
from ictbot.backtest.runner import BacktestResult, run_backtest
from ictbot.config import RiskSettings, Settings
from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule
from ictbot.errors import ConfigError
from ictbot.research.baseline import r_multiples
from ictbot.research.cache import reuse_detector_timelines
from ictbot.strategy.base import Strategy
from ictbot.strategy.params import SearchChoice, SearchRange, SearchSpec, search_space

OBJECTIVES = ("expectancy_r", "sharpe", "sortino", "calmar", "profit_factor", "net_pnl")
PROFIT_FACTOR_CAP = 100.0  # a run without losing trades has an infinite profit factor; capped so it can be ranked
RISK_RANGES: dict[str, SearchSpec] = {
    "risk_per_trade_pct": SearchRange(0.1, 2.0, step=0.1),
    "leverage": SearchRange(1, 10, step=1),
    "max_position_margin_usdt": SearchRange(10.0, 500.0, log=True),
    "max_open_positions": SearchRange(1, 5, step=1),
}
RISK_PREFIX = "risk."

StrategyFactory = Callable[[Settings], Strategy]


@dataclass
class Problem:
    """Everything a worker needs to run trials: picklable, so it can travel to another process or a Ray node."""

    settings: Settings
    frames: list[CandleFrame]
    objectives: tuple[str, ...] = ("expectancy_r",)
    min_trades: int = 10
    risk: tuple[str, ...] = ()
    funding: dict[str, FundingSchedule] | None = None
    strategy_factory: StrategyFactory | None = None
    space: dict[str, SearchSpec] = field(init=False)

    def __post_init__(self) -> None:
        unknown = [o for o in self.objectives if o not in OBJECTIVES]
        if unknown or not self.objectives:
            raise ConfigError(f"unknown objective {unknown}; use one or more of {', '.join(OBJECTIVES)}")
        bad = [r for r in self.risk if r not in RISK_RANGES]
        if bad:
            raise ConfigError(f"risk setting(s) {bad} cannot be optimised; choose from {', '.join(RISK_RANGES)}")
        self.space = {**search_space(type(self.settings.strategy))}
        self.space.update({RISK_PREFIX + name: RISK_RANGES[name] for name in self.risk})
        if not self.space:
            raise ConfigError(
                f"strategy {self.settings.strategy.name} declares no search ranges and no --risk setting was chosen: "
                "nothing to optimise"
            )


def suggest(trial: Any, space: dict[str, SearchSpec]) -> dict[str, Any]:
    """One value per searched setting, drawn by the trial's sampler."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if isinstance(spec, SearchChoice):
            params[name] = trial.suggest_categorical(name, list(spec.choices))
        elif _integral(spec):
            step = int(spec.step or 1)
            params[name] = trial.suggest_int(name, int(spec.low), int(spec.high), step=step, log=spec.log)
        else:
            params[name] = trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
    return params


def _integral(spec: SearchRange) -> bool:
    return float(spec.low).is_integer() and float(spec.high).is_integer() and (spec.step or 1) == int(spec.step or 1)


def variant(settings: Settings, params: dict[str, Any]) -> Settings:
    """``settings`` with the strategy and risk values of ``params`` (strategy fields by name, risk ones prefixed)."""
    strategy_params = {k: v for k, v in params.items() if not k.startswith(RISK_PREFIX)}
    risk_params = {k[len(RISK_PREFIX) :]: v for k, v in params.items() if k.startswith(RISK_PREFIX)}
    s = settings.strategy
    update: dict[str, Any] = {"strategy": type(s).model_validate({**s.model_dump(), **strategy_params})}
    if risk_params:
        update["risk"] = RiskSettings.model_validate({**settings.risk.model_dump(), **risk_params})
    return settings.model_copy(update=update)


def metrics(result: BacktestResult) -> dict[str, float]:
    """The figures an objective can be: the report's, computed without building the whole report."""
    r = r_multiples(result)
    pnls = np.array([float(t.pnl) for t in result.trades])
    initial = float(result.portfolio.initial_equity)
    equity = result.equity
    peak = np.maximum.accumulate(equity) if equity.size else equity
    max_dd_pct = float(np.max((peak - equity) / peak) * 100) if equity.size else 0.0
    gains, losses = float(pnls[pnls > 0].sum()), float(-pnls[pnls < 0].sum())
    profit_factor = min(gains / losses, PROFIT_FACTOR_CAP) if losses else (PROFIT_FACTOR_CAP if gains else 0.0)
    return {
        "trades": float(len(result.trades)),
        "expectancy_r": float(r.mean()) if r.size else 0.0,
        "win_rate": float(np.mean(pnls > 0)) if pnls.size else 0.0,
        "net_pnl": float(result.final_equity) - initial,
        "profit_factor": profit_factor,
        "max_drawdown_pct": max_dd_pct,
        **{k: v for k, v in ratios(equity, result.equity_time, initial, max_dd_pct).items() if k != "cagr_pct"},
    }


def backtest_variant(problem: Problem, settings: Settings) -> BacktestResult:
    strategy = problem.strategy_factory(settings) if problem.strategy_factory is not None else None
    return run_backtest(settings, problem.frames, funding=problem.funding, strategy=strategy)


def make_objective(problem: Problem) -> Callable[[Any], tuple[float, ...]]:
    def objective(trial: Any) -> tuple[float, ...]:
        params = suggest(trial, problem.space)
        trial.set_user_attr("pid", os.getpid())
        earlier = _completed_with(trial, params)
        if earlier is not None:
            trial.set_user_attr("duplicate_of", earlier.number)
            for key in ("trades", "metrics", "daily_returns"):
                trial.set_user_attr(key, earlier.user_attrs[key])
            return tuple(earlier.values)
        result = backtest_variant(problem, variant(problem.settings, params))
        figures = metrics(result)
        returns = daily_returns(result.equity, result.equity_time, float(result.portfolio.initial_equity))
        trial.set_user_attr("trades", int(figures["trades"]))
        trial.set_user_attr("metrics", {k: round(v, 8) for k, v in figures.items()})
        trial.set_user_attr("daily_returns", [round(float(x), 10) for x in returns])
        return tuple(figures[o] for o in problem.objectives)

    return objective


def _completed_with(trial: Any, params: dict[str, Any]) -> Any:
    import optuna

    for earlier in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if earlier.params == params and "metrics" in earlier.user_attrs:
            return earlier
    return None


def feasible(trial: Any, min_trades: int) -> bool:
    return int(trial.user_attrs.get("trades", 0)) >= min_trades


def sampler(objectives: int, min_trades: int, seed: int | None) -> Any:
    """TPE for one objective, NSGA-II for several; both treat a trial with too few trades as infeasible."""
    import optuna

    def constraints(trial: Any) -> list[float]:
        return [float(min_trades - int(trial.user_attrs.get("trades", 0)))]

    if objectives == 1:
        return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints, n_startup_trials=10)
    return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints)


def storage_url(storage: str | Path | None, default_dir: Path) -> str:
    """A SQLAlchemy URL; a plain path is a SQLite file (made absolute, so other processes find the same file)."""
    if storage is None:
        default_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(default_dir / 'studies.sqlite').resolve()}"
    text = str(storage)
    if "://" in text:
        return text
    path = Path(text).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_storage(url: str) -> Any:
    """The study database. A SQLite file is switched to write-ahead logging with ``synchronous=NORMAL``: a trial
    commits a dozen times, and waiting for the disk on each commit was a seventh of a trial's time; WAL also lets
    the workers read while one writes. A crash can lose the last commits, never corrupt the file."""
    import optuna
    from sqlalchemy import event

    engine: dict[str, Any] = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    storage = optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=10, grace_period=30)
    if url.startswith("sqlite"):
        event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()  # connections opened while creating the tables reconnect with the pragmas
    return storage


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_study(url: str, name: str, problem: Problem, seed: int | None = 0) -> Any:
    """Create the study, or load it to resume; a study made for other objectives is refused, not mixed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = open_storage(url)
    directions = ["maximize"] * len(problem.objectives)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=directions,
        sampler=sampler(len(problem.objectives), problem.min_trades, seed),
        load_if_exists=True,
    )
    stored = study.user_attrs.get("objectives")
    if stored is None:
        study.set_user_attr("objectives", list(problem.objectives))
        study.set_user_attr("min_trades", problem.min_trades)
        study.set_user_attr("space", sorted(problem.space))
    elif stored != list(problem.objectives) or study.user_attrs.get("space") != sorted(problem.space):
        raise ConfigError(
            f"study {name!r} in {url} was made for objectives {stored} over {study.user_attrs.get('space')}; "
            "use another --study name to search differently"
        )
    return study


def completed(study: Any) -> list[Any]:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _work(problem: Problem, url: str, name: str, trials: int, seed: int | None) -> int:
    """One worker: run ``trials`` trials of the shared study; returns its process id."""
    study = open_study(url, name, problem, seed)
    with reuse_detector_timelines():
        study.optimize(make_objective(problem), n_trials=trials, catch=())
    return os.getpid()


def shares(total: int, workers: int) -> list[int]:
    """``total`` trials split as evenly as possible over ``workers`` (none get zero unless there are too few)."""
    base, extra = divmod(total, workers)
    return [base + (1 if i < extra else 0) for i in range(workers) if base + (1 if i < extra else 0)]


Progress = Callable[[int, float | None], None]  # (trials completed, best value) after each poll


def run_study(
    problem: Problem,
    url: str,
    name: str,
    n_trials: int,
    jobs: int = 1,
    ray_address: str | None = None,
    seed: int | None = 0,
    progress: Progress | None = None,
) -> Any:
    """Run the study until it holds ``n_trials`` completed trials (those of an earlier, interrupted run count)."""
    study = open_study(url, name, problem, seed)
    remaining = max(0, n_trials - len(completed(study)))
    parts = shares(remaining, max(1, jobs))
    seeds = [None if seed is None else seed + len(completed(study)) + i for i in range(len(parts))]
    if parts and ray_address is not None:
        _run_on_ray(problem, url, name, parts, seeds, ray_address, study, progress)
    elif len(parts) == 1:
        callback = [lambda s, t: progress(len(completed(s)), best_value(s, problem))] if progress else []
        study.sampler = sampler(len(problem.objectives), problem.min_trades, seeds[0])
        with reuse_detector_timelines():
            study.optimize(make_objective(problem), n_trials=parts[0], callbacks=callback, catch=())
    elif parts:
        with ProcessPoolExecutor(len(parts), mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_work, problem, url, name, n, s) for n, s in zip(parts, seeds, strict=True)]
            _watch(study, problem, futures, lambda f: f.done(), progress)
            for future in futures:
                future.result()
    if progress is not None:
        progress(len(completed(study)), best_value(study, problem))
    return study


def _watch(study: Any, problem: Problem, jobs: list, done: Callable[[Any], bool], progress: Progress | None) -> None:
    while not all(done(j) for j in jobs):
        if progress is not None:
            progress(len(completed(study)), best_value(study, problem))
        time.sleep(0.5)


def _run_on_ray(
    problem: Problem,
    url: str,
    name: str,
    parts: list[int],
    seeds: list[int | None],
    address: str,
    study: Any,
    progress: Progress | None,
) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'ictbot[ray]'") from None
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=len(parts), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    task = ray.remote(num_cpus=1)(_work)
    shared = ray.put(problem)
    refs = [task.remote(shared, url, name, n, s) for n, s in zip(parts, seeds, strict=True)]
    _watch(study, problem, refs, lambda r: bool(ray.wait([r], timeout=0)[0]), progress)
    ray.get(refs)


def best_value(study: Any, problem: Problem) -> float | None:
    best = best_trials(study, problem.min_trades)
    return float(best[0].values[0]) if best else None


def best_trials(study: Any, min_trades: int) -> list[Any]:
    """Feasible completed trials that no other feasible trial beats on every objective, best first objective first."""
    pool = [t for t in completed(study) if feasible(t, min_trades)]
    front = [
        t
        for t in pool
        if not any(
            all(o >= v for o, v in zip(other.values, t.values, strict=True)) and other.values != t.values
            for other in pool
        )
    ]
    return sorted(front, key=lambda t: (-t.values[0], t.number))
