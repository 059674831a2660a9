"""The Ray path: trials run as Ray tasks in Ray's worker processes on a local cluster, sharing the one study."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from ictbot.data.loaders import load_candles
from ictbot.research.optimize import Problem, completed, run_study

from .strategies import planted, planted_settings

ray = pytest.importorskip("ray")
DAY_MS = 86_400_000


def test_trials_run_in_ray_worker_processes(data_dir, tmp_path):
    full = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    frame = full.between(int(full.open_time[0]), int(full.open_time[0]) + 5 * DAY_MS)
    problem = Problem(planted_settings(), [frame], min_trades=1, strategy_factory=functools.partial(planted, frame))
    # The test strategies live in this test package: Ray's workers import it from the same path as this process.
    path = os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        study = run_study(problem, f"sqlite:///{tmp_path / 's.sqlite'}", "ray", n_trials=6, jobs=2, ray_address="local")
        pids = {t.user_attrs["pid"] for t in completed(study)}
        # Ray names its worker processes ``ray::<task or IDLE>``; they stay up, idle, until the cluster stops.
        titles = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for pid in pids}
    finally:
        ray.shutdown()
    assert len(completed(study)) == 6
    assert os.getpid() not in pids
    assert len(pids) == 2
    assert all(title.startswith("ray::") for title in titles.values()), titles
