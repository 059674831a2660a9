"""The dashboard in headless Chromium (Debian's ``chromium``) on a replaying bot: candles, detector zones and trade
markers render, and "Pause" with the token halts entries. The screenshot's path is printed."""

from __future__ import annotations

import shutil

import pytest
from botkit import TOKEN, frozen_after_trades, running, until

playwright = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (.ci/run installs it)")
async def test_dashboard_draws_candles_zones_and_trades_and_pauses_with_the_token(make_settings, tmp_path):
    """On the default replay: orders on the local exchange, protected by its algo orders."""
    async with running(make_settings(speed=6000, execution={"unknown_order_settle_s": 0.05})) as engine:
        await frozen_after_trades(engine)
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1400, "height": 860})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(engine.api_url + "/")
            chart = page.locator("#chart")
            await chart.and_(page.locator("[data-candles]:not([data-candles='0'])")).wait_for()
            await page.wait_for_function(
                "() => +document.querySelector('#chart').dataset.zones > 0"
                " && +document.querySelector('#chart').dataset.markers > 0"
            )
            await page.locator("#signals tr").first.wait_for()
            await page.fill("#token", TOKEN)
            await page.click("#pause")
            await page.locator("#control-result", has_text="pause: trading HALTED").wait_for()
            await page.locator("#trading", has_text="HALTED").wait_for()
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            counts = await chart.evaluate("el => ({...el.dataset})")
            await browser.close()
        await until(lambda: engine.pipeline.gate.state.value == "HALTED")
    print(
        f"dashboard screenshot: {shot} (candles {counts['candles']}, zones {counts['zones']}, "
        f"trade markers {counts['markers']})"
    )
    assert errors == []
    assert int(counts["candles"]) > 100 and int(counts["zones"]) > 0 and int(counts["markers"]) > 0
