"""The layer contract in pyproject.toml holds: no package imports one above it, the bot never imports the exchange."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(lint), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_layers_hold_and_an_upward_import_breaks_them(tmp_path):
    assert _lint(ROOT).returncode == 0
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy)
    domain = copy / "src" / "ictbot" / "domain.py"
    domain.write_text(domain.read_text() + "\nfrom ictbot.runtime import engine  # noqa: E402\n")
    broken = _lint(copy)
    assert broken.returncode != 0
    assert "ictbot.domain is not allowed to import ictbot.runtime" in broken.stdout


def test_no_upward_import_is_excused():
    """Every package sits at its layer: the contracts list no ignored import to excuse one."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert [c["name"] for c in contracts if c.get("ignore_imports")] == []
