"""The shipped systemd unit: ``systemd-analyze verify`` accepts it without a single warning, and it keeps the
properties operations rely on (restart on failure, keys from an EnvironmentFile, hardening)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "deploy" / "systemd" / "ictbot.service"
INSTALLED_ICTBOT = "/opt/ictbot/venv/bin/ictbot"
ANALYZE = shutil.which("systemd-analyze")


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case sensitive
    parser.read_string(UNIT.read_text())
    return parser


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian: systemd)")
def test_systemd_analyze_verifies_the_unit_without_warnings(tmp_path):
    # verify checks that ExecStart's program exists: point it at this environment's ictbot.
    ictbot = Path(sys.executable).parent / "ictbot"
    assert ictbot.exists(), f"{ictbot}: the ictbot console script of this environment"
    text = UNIT.read_text()
    assert INSTALLED_ICTBOT in text
    copy = tmp_path / "ictbot.service"
    copy.write_text(text.replace(INSTALLED_ICTBOT, str(ictbot)))
    done = subprocess.run([ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


def test_the_unit_restarts_on_failure_reads_keys_from_a_file_and_is_hardened():
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/ictbot/ictbot.env"
    assert service["User"] != "root"
    assert service["ExecStart"].startswith(INSTALLED_ICTBOT + " run")
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID"):
        assert service[option] == "yes", option
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == service["WorkingDirectory"] == "/var/lib/ictbot"
