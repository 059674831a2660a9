"""The dashboard at ``/``: one small page and script of our own, plus TradingView's Lightweight Charts served from
the installed ``lightweight-charts`` package — no CDN, nothing fetched from the internet."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
_ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}

router = APIRouter(include_in_schema=False)


def chart_library() -> Path:
    """The standalone Lightweight Charts build shipped inside the ``lightweight-charts`` Python package.

    The package is located, not imported: importing it imports pandas, which would add over 100 MB to a running
    bot's memory the first time someone opened the dashboard."""
    spec = find_spec("lightweight_charts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the lightweight-charts package is missing; reinstall ictbot (pip install ictbot)")
    return Path(spec.submodule_search_locations[0]) / "js" / "lightweight-charts.js"


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/lightweight-charts.js")
async def library() -> FileResponse:
    return FileResponse(chart_library(), media_type="text/javascript")


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise HTTPException(404, f"no dashboard file {name!r}")
    return FileResponse(STATIC / name, media_type=_ASSETS[name])
