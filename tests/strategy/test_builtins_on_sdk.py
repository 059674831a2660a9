"""The built-in strategies and the example are written on the public SDK alone: every ictbot import they make is of
``ictbot.sdk``, so a user's strategy can do everything they do."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
STRATEGIES = [
    ROOT / "src" / "ictbot" / "strategy" / "ict_mtf.py",
    ROOT / "src" / "ictbot" / "strategy" / "fvg_retrace.py",
    ROOT / "examples" / "strategies" / "ote_killzone.py",
]


def _ictbot_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ictbot":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "ictbot")
    return found


@pytest.mark.parametrize("path", STRATEGIES, ids=lambda p: p.name)
def test_strategy_imports_only_the_sdk(path):
    assert _ictbot_imports(path) == {"ictbot.sdk"}
