"""``/api/status`` says how far a replay has got (market time, % done, wall seconds left at its speed)."""

from __future__ import annotations

from datetime import datetime

from botkit import client, freeze, running


async def test_status_reports_the_replays_progress_and_eta(make_settings):
    async with running(make_settings(speed=6000)) as engine:
        replay = engine.exchange.replay
        await freeze(engine, lambda: replay.now > engine.source.start_ms + 200 * 60_000)
        async with client(engine) as http:
            body = (await http.get("/status")).json()
        now, start, end = int(replay.now), engine.source.start_ms, replay.end
    progress = body["replay"]
    # 2000 candles replayed from the 600th: 1400 minutes to go through in all.
    assert end - start == 1400 * 60_000
    assert progress["progress_pct"] == round(100 * (now - start) / (1400 * 60_000), 1)
    assert progress["eta_seconds"] == round((end - now) / 1000 / 6000, 1)
    assert progress["speed"] == 6000
    assert datetime.fromisoformat(progress["market_time"]).timestamp() * 1000 == now
