"""What reaches a running bot from a browser: only this machine's host names (DNS rebinding is refused), only its own
or configured origins on the event stream, security headers on every answer, no page that loads a CDN's scripts."""

from __future__ import annotations

import pytest
import websockets
from botkit import client, running

CSP_SCRIPTS = "script-src 'self'"


async def test_answers_carry_security_headers_and_foreign_host_names_are_refused(make_settings):
    async with running(make_settings()) as engine, client(engine) as http:
        for path in ("/", "/health", "/status"):
            answer = await http.get(path)
            assert answer.status_code == 200, path
            assert CSP_SCRIPTS in answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["x-content-type-options"] == "nosniff"

        port = engine.api_url.rsplit(":", 1)[1]
        for host in ("127.0.0.1", "localhost", "[::1]"):
            assert (await http.get("/health", headers={"Host": f"{host}:{port}"})).status_code == 200, host
        rebound = await http.get("/status", headers={"Host": f"attacker.example:{port}"})
        assert rebound.status_code == 421 and "attacker.example" in rebound.json()["detail"]
        assert "x-frame-options" in rebound.headers

        out_of_range = [
            "/api/fills?offset=9223372036854775808",
            "/api/trades?offset=1000000001",
            "/api/equity?start=2e63",
            "/api/equity?start=9223372036854775808",
            "/api/equity?end=99999999999999999999",
        ]
        for query in out_of_range:
            refused = await http.get(query)
            assert refused.status_code == 422, query
            assert "less than or equal" in refused.text or "valid integer" in refused.text, query

        assert (await http.get("/docs")).status_code == 404  # it would load swagger-ui from a CDN
        assert (await http.get("/redoc")).status_code == 404
        assert "cdn" not in (await http.get("/")).text.lower()


async def test_the_event_stream_opens_for_its_own_pages_and_configured_origins_only(make_settings):
    settings = make_settings(api={"cors_origins": ["https://dash.example"]})
    async with running(settings) as engine:
        url = engine.api_url.replace("http", "ws") + "/api/stream"
        port = engine.api_url.rsplit(":", 1)[1]
        for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", "https://dash.example", None):
            async with websockets.connect(url, origin=origin) as stream:
                assert (await stream.recv()) is not None, origin  # the backlog's first event
        for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example"):
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                async with websockets.connect(url, origin=origin):
                    pass
            assert refused.value.response.status_code == 403, origin
