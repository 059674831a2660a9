"""The image built and run for real where the machine can: a container runtime (Podman or Docker) that answers and
the base image already in its store (builds here cannot pull). The running container's /ready answers 200 on the
published port, its health check reports healthy, and control without the token is refused."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from helpers.container import DOCKERFILE, ROOT, dockerfile_instructions

BASE = dockerfile_instructions(0)[0][1].split()[0]
TAG = "localhost/ictbot:test"
WAIT_S = 300  # bounds every wait


def runtime() -> tuple[str | None, str]:
    """The first runtime that answers and holds the base image, or None and why not."""
    reasons = []
    for name in ("podman", "docker"):
        program = shutil.which(name)
        if program is None:
            reasons.append(f"{name}: not installed")
            continue
        if subprocess.run([program, "info"], capture_output=True, timeout=60, check=False).returncode != 0:
            reasons.append(f"{name}: does not answer `{name} info`")
            continue
        if subprocess.run([program, "image", "inspect", BASE], capture_output=True, timeout=60, check=False).returncode:
            reasons.append(f"{name}: base image {BASE} is not in its store (no registry to pull it from)")
            continue
        return program, ""
    return None, "; ".join(reasons)


PROGRAM, WHY_NOT = runtime()
pytestmark = pytest.mark.skipif(PROGRAM is None, reason=f"no container runtime can build the image here: {WHY_NOT}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_the_built_image_serves_ready_and_keeps_control_behind_the_token():
    assert PROGRAM is not None
    subprocess.run([PROGRAM, "build", "--pull=never", "-t", TAG, "-f", str(DOCKERFILE), str(ROOT)], check=True,
                   timeout=1800)  # fmt: skip
    port = free_port()
    name = f"ictbot-test-{port}"
    subprocess.run([PROGRAM, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000",
                    "-e", "ICTBOT_REPLAY__STOP_AT_END=false", TAG], check=True, timeout=120)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT_S
        while status(f"{base}/ready") != 200:
            assert time.monotonic() < deadline, "the container's /ready never answered 200"
            time.sleep(1)
        assert status(f"{base}/api/control/pause", "POST") == 401
        user = subprocess.run([PROGRAM, "exec", name, "id", "-u"], capture_output=True, text=True, check=True)
        assert user.stdout.strip() != "0"
        token = subprocess.run([PROGRAM, "exec", name, "cat", "/data/control-token"], capture_output=True, text=True,
                               check=True).stdout.strip()  # fmt: skip
        assert token
        while True:
            inspected = subprocess.run([PROGRAM, "inspect", name], capture_output=True, text=True, check=True)
            health = json.loads(inspected.stdout)[0]["State"].get("Health", {}).get("Status")
            if health == "healthy":
                break
            assert time.monotonic() < deadline, f"the health check never reported healthy ({health})"
            subprocess.run([PROGRAM, "healthcheck", "run", name], capture_output=True, check=False)
            time.sleep(1)
    finally:
        subprocess.run([PROGRAM, "rm", "-f", name], capture_output=True, check=False)
