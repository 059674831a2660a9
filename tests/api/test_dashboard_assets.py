"""The dashboard's files, the vendored chart library among them, are served from the package itself."""

from __future__ import annotations

import hashlib

import httpx
from fastapi import FastAPI

from ictbot.api.dashboard import STATIC, router

# TradingView Lightweight Charts v4.1.3, standalone build, as recorded in static/lightweight-charts.LICENSE.txt.
CHART_LIBRARY_SHA256 = "a7d4221516c7ea0bb0cc17d605df8848c1c748517a2ca43c2ce1a95ddb159006"


def _client() -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def test_the_vendored_chart_library_is_served_unmodified_with_its_licence_beside_it():
    async with _client() as client:
        response = await client.get("/static/lightweight-charts.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert hashlib.sha256(response.content).hexdigest() == CHART_LIBRARY_SHA256
    notice = (STATIC / "lightweight-charts.LICENSE.txt").read_text()
    assert "v4.1.3" in notice and CHART_LIBRARY_SHA256 in notice and "Apache License" in notice


async def test_the_page_and_its_scripts_are_served_and_other_names_are_not():
    async with _client() as client:
        assert "/static/lightweight-charts.js" in (await client.get("/")).text
        for name in ("app.js", "app.css"):
            assert (await client.get(f"/static/{name}")).status_code == 200
        assert (await client.get("/static/lightweight-charts.LICENSE.txt")).status_code == 404
        assert (await client.get("/static/..%2Fdashboard.py")).status_code == 404
