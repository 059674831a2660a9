"""From a non-editable install: `ictbot run` (the embedded default) serves the dashboard page and its scripts, and
`ictbot backtest` with no arguments runs on the bundled sample. Run with the installed environment's Python, from an
empty working directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ICTBOT = str(Path(sys.executable).with_name("ictbot"))
PAGES = {"/": "<html", "/static/app.js": "", "/static/app.css": "", "/static/lightweight-charts.js": "Lightweight"}
DEADLINE_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def check_dashboard() -> None:
    port = free_port()
    env = {**os.environ, "ICTBOT_API__PORT": str(port)}
    bot = subprocess.Popen([ICTBOT, "run", "--duration", str(DEADLINE_S)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                status, _ = fetch(base + "/")
                break
            except OSError:
                if bot.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the dashboard never answered at {base} (bot exit code {bot.poll()})")
                time.sleep(0.5)
        for path, marker in PAGES.items():
            status, body = fetch(base + path)
            if status != 200 or marker not in body or not body:
                sys.exit(f"GET {path} answered {status} ({len(body)} characters) from the installed package")
            print(f"GET {path}: 200, {len(body)} characters")
    finally:
        bot.terminate()
        bot.wait(timeout=30)


def check_backtest() -> None:
    run = subprocess.run([ICTBOT, "backtest"], capture_output=True, text=True, timeout=300)
    if run.returncode != 0 or "final equity" not in run.stdout:
        sys.exit(f"`ictbot backtest` failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    print("ictbot backtest (bundled sample): ok")


if __name__ == "__main__":
    if shutil.which(ICTBOT) is None:
        sys.exit(f"{ICTBOT} is not installed")
    check_dashboard()
    check_backtest()
