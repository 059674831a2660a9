"""The dashboard in headless Chromium (Debian's ``chromium``) on a replaying bot that trades on the local exchange,
opened the way a new user opens it, through the link with ``#token=`` the bot logs on its first run. While the replay
runs the page must follow it: the progress line, the current run's equity growing past the first fill, that trade's
markers, detector zones that end where they stopped mattering, and "Pause" working with the token from the link.
The screenshot's path is printed."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from botkit import client, freeze, running, until

from ictbot.domain import Timeframe
from ictbot.runtime.control_token import token_path

playwright = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SPEED = 6000
FIVE_MINUTES = 300_000
# The page refreshes its header and equity every 2 s and its chart every 10 s: three chart refreshes at most.
PAGE_MS = 30_000


def _bar(ms: int) -> int:
    """The 5m candle (epoch seconds, as the chart keys it) a time falls in."""
    return ms // FIVE_MINUTES * FIVE_MINUTES // 1000


def _whole_curve(recorder, run: int) -> dict[int, float]:
    """Every equity point of the run, page by page: on a loaded machine the first trade may close after more points
    than one page holds."""
    curve: dict[int, float] = {}
    start = 0
    while page := recorder.equity_curve(run_id=run, start=start):
        curve |= {e.time: float(e.equity) for e in page}
        start = page[-1].time + 1
    return curve


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (.ci/run installs it)")
async def test_the_dashboard_follows_the_run_live_and_pauses_with_the_logged_token(make_settings, tmp_path):
    settings = make_settings(speed=SPEED, api={"token": None}, execution={"unknown_order_settle_s": 0.05})
    async with running(settings) as engine:
        exchange = engine.exchange
        exchange.stop_clock()  # the page is open before the bot's first fill, so what it shows of it came live
        assert engine.counters.totals().fills == 0
        token = token_path(settings).read_text().strip()
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1400, "height": 860})
            errors: list[str] = []
            trade_reads: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: trade_reads.append(r.url) if "/api/trades" in r.url else None)
            await page.goto(f"{engine.api_url}/#token={token}")
            await page.locator("#replay-text", has_text="%").wait_for(timeout=PAGE_MS)
            progress = await page.locator("#replay-text").text_content()
            address = await page.evaluate("location.href")
            kept = await page.evaluate("sessionStorage.getItem('ictbot-token')")
            loaded_until = int(await page.locator("#equity-chart").get_attribute("data-last"))

            exchange.start_clock(SPEED)
            symbol = "BTCUSDT"

            def first_trade_closed_on_the_chart() -> bool:
                trades = engine.recorder.trades(limit=1)
                five = engine.pipeline.book.closed(symbol, Timeframe.M5)
                return bool(trades) and five.shape[1] > 0 and five[0, -1] // 1000 >= _bar(trades[0].exit_time)

            # Bounded by the replay itself: all of it at its speed, with room for a loaded machine.
            await until(first_trade_closed_on_the_chart, engine.replay_progress()["eta_seconds"] + 60)
            await freeze(engine, first_trade_closed_on_the_chart)
            run = engine.recorder.run_id
            first_fill = min(f.time for f in engine.recorder.fills(limit=1000))
            (trade,) = engine.recorder.trades(run_id=run, limit=1000)[-1:]
            curve = _whole_curve(engine.recorder, run)
            async with client(engine) as http:
                api_zones = (await http.get(f"/api/zones/{symbol}/5m")).json()["items"]

            last_point = "(fill) => +document.querySelector('#equity-chart').dataset.last >= fill"
            await page.wait_for_function(last_point, arg=first_fill, timeout=PAGE_MS)
            points = await page.evaluate("equity.data().map((p) => [p.time * 1000, p.value])")
            entry, exit_ = _bar(trade.entry_time), _bar(trade.exit_time)
            await page.wait_for_function(
                "([entry, exit]) => view.markers.some((m) => m.time === entry)"
                " && view.markers.some((m) => m.time === exit)"
                " && +document.querySelector('#chart').dataset.markers >= 2",
                arg=[entry, exit_],
                timeout=PAGE_MS,
            )
            markers = await page.evaluate("view.markers.map((m) => [m.time, m.text])")
            await page.wait_for_function(
                "() => +document.querySelector('#chart').dataset.zonesEnded > 0", timeout=PAGE_MS
            )
            drawn = await page.evaluate("view.drawn")
            pane_width = await page.evaluate("chart.timeScale().width()")
            now_x = await page.evaluate("xOf(view.times[view.times.length - 1] * 1000)")
            await page.locator("#signals tr").first.wait_for(timeout=PAGE_MS)

            await page.click("#pause")
            await page.locator("#control-result", has_text="pause: trading HALTED").wait_for(timeout=PAGE_MS)
            await page.locator("#trading", has_text="HALTED").wait_for(timeout=PAGE_MS)
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            counts = await page.locator("#chart").evaluate("el => ({...el.dataset})")

            # Another tab, opened without the link: the buttons say where the token is instead of failing silently.
            bare = await browser.new_page()
            controls: list[str] = []
            bare.on("request", lambda r: controls.append(r.url) if "/api/control/" in r.url else None)
            await bare.goto(f"{engine.api_url}/")
            await bare.locator("#control-result", has_text="control-token").wait_for(timeout=PAGE_MS)
            await bare.click("#pause")
            await bare.locator("#control-result", has_text="pause needs the bot's token").wait_for(timeout=PAGE_MS)
            hint = await bare.locator("#control-result").text_content()
            await browser.close()
        await until(lambda: engine.pipeline.gate.state.value == "HALTED")
    print(
        f"dashboard screenshot: {shot} (candles {counts['candles']}, zones {counts['zones']} of which ended "
        f"{counts['zonesEnded']}, trade markers {counts['markers']}; progress {progress!r})"
    )
    assert errors == []
    # The token moved from the address into the tab's session storage.
    assert "token" not in address and address == f"{engine.api_url}/"
    assert kept == token
    assert "replay" in progress and "% · ETA" in progress
    # The current run's curve grew live past the first fill, point for point as recorded.
    assert points[-1][0] >= first_fill > loaded_until
    assert all(curve[t] == value for t, value in points)
    # The trade's entry and exit are marked on the 5m candle they happened in; trades are read for this run only.
    assert [entry, f"entry {float(trade.entry_price):.2f}"] in markers
    assert any(t == exit_ and text.startswith(trade.exit_reason) for t, text in markers)
    assert trade_reads and all(f"run={run}" in url for url in trade_reads)
    # Ended zones stop where the detector ended them, before the chart's right edge; live ones reach "now".
    ends = {
        (z["kind"], z["formed_at"], z["known_at"] if z["kind"] in ("bos", "choch") else z["ends_at"]) for z in api_zones
    }
    finished = [z for z in drawn if not z["live"] and z["x2"] < pane_width]
    assert finished and all((z["kind"], z["formed_at"], z["ends_at"]) in ends for z in finished)
    assert all(z["x2"] > now_x for z in drawn if z["live"])
    live = Counter((z["kind"], z["direction"]) for z in drawn if z["live"])
    assert live and max(live.values()) <= 3
    assert int(counts["candles"]) > 100
    # Without the token nothing is sent, and the operator reads where to find it.
    assert controls == []
    assert str(token_path(settings)) in hint and "#token=" in hint
