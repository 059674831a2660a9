"""The dashboard at ``/``: one small page and script of our own, plus TradingView's Lightweight Charts vendored in
``static/`` (version and licence in ``static/lightweight-charts.LICENSE.txt``) — no CDN, nothing fetched from the
internet."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
_ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "lightweight-charts.js": "text/javascript"}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise HTTPException(404, f"no dashboard file {name!r}")
    return FileResponse(STATIC / name, media_type=_ASSETS[name])
