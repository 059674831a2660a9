"""A non-editable install must carry every file the package reads at run time (the dashboard, the sample, the
migrations): the wheel is built from the sources and its file list compared with the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ictbot"


def _source_files() -> set[str]:
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Built from a copy so the build leaves no build/ or egg-info behind in the checkout.
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_wheel({str(out)!r})"],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("ictbot-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_every_file_of_the_package(wheel: zipfile.ZipFile):
    missing = _source_files() - set(wheel.namelist())
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_the_wheel_ships_the_dashboard_page_and_its_scripts(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    for asset in ("index.html", "app.js", "app.css"):
        assert f"ictbot/api/static/{asset}" in names


def test_the_wheel_declares_the_mit_licence_and_carries_both_licence_texts(wheel: zipfile.ZipFile):
    (metadata,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    headers = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers
    licences = {n.split(".dist-info/licenses/", 1)[1] for n in wheel.namelist() if ".dist-info/licenses/" in n}
    assert licences == {"LICENSE", "src/ictbot/api/static/lightweight-charts.LICENSE.txt"}
    (mit,) = (n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE"))
    assert "MIT License" in wheel.read(mit).decode() and "ictbot contributors" in wheel.read(mit).decode()
