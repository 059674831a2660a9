"""The bot as the image and the compose file configure it: listening on the container's interfaces so the host's
port mapping and Prometheus reach it, answering to its service name, and still refusing control without the token."""

from __future__ import annotations

import json

from botkit import client, running

from helpers.container import compose, dockerfile_env


async def test_the_containers_settings_serve_prometheus_by_service_name_and_control_still_needs_the_token(
    make_settings, monkeypatch, tmp_path
):
    image = dockerfile_env()
    assert image["ICTBOT_API__HOST"] == "0.0.0.0" and image["ICTBOT_DATA_DIR"] == "/data"
    allowed = json.loads(compose()["services"]["bot"]["environment"]["ICTBOT_API__ALLOWED_HOSTS"])
    assert allowed == ["bot"]
    monkeypatch.setenv("ICTBOT_API__HOST", image["ICTBOT_API__HOST"])
    monkeypatch.setenv("ICTBOT_API__ALLOWED_HOSTS", json.dumps(allowed))
    settings = make_settings(api={"port": 0, "token": None})
    assert settings.api.host == "0.0.0.0" and settings.api.allowed_hosts == ["bot"]
    async with running(settings) as engine:
        port = engine.api_url.rsplit(":", 1)[1]
        async with client(engine) as http:
            scraped = await http.get("/metrics", headers={"Host": f"bot:{port}"})
            assert scraped.status_code == 200 and "ictbot_ready" in scraped.text
            assert (await http.get("/metrics", headers={"Host": f"attacker.example:{port}"})).status_code == 421
            assert (await http.post("/api/control/pause")).status_code == 401
            assert (await http.post("/api/control/pause", headers={"Host": f"bot:{port}"})).status_code == 401
        token = (settings.data_dir / "control-token").read_text().strip()
        async with client(engine, Authorization=f"Bearer {token}") as http:
            assert (await http.post("/api/control/pause")).status_code == 200
