"""Two bots on one database (different accounts, different symbols) never touch each other's records: each one's
restart reconciles only its own orders against its own venue."""

from __future__ import annotations

from pathlib import Path

import pytest

from ictbot.data.frame import CandleFrame
from ictbot.domain import OrderType
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient
from ictbot.storage import OrderState

from .harness import Bot, Killed, assert_consistent, killing_client, market_intent, venue_state


async def test_two_bots_sharing_a_database_each_reconcile_only_their_own_orders(
    frames: list[CandleFrame], tmp_path: Path, database_url: str
) -> None:
    async with LocalExchange(frames, warmup=300) as venue_a, LocalExchange(frames, warmup=300) as venue_b:
        assert venue_a.credentials.api_key != venue_b.credentials.api_key, "two accounts"
        alpha = Bot(venue_a, tmp_path / "alpha.sqlite", killing_client("place_order", after_request=True),
                    url=database_url, name="alpha")  # fmt: skip
        beta = Bot(venue_b, tmp_path / "beta.sqlite", url=database_url, name="beta")
        try:
            # beta: an entry resting on its venue, waiting below the market
            manager_b = await beta.start()
            resting = market_intent(venue_b, "ETHUSDT", order_type=OrderType.LIMIT, offset_pct=2.0, stop_pct=3.0,
                                  quantity="0.05")  # fmt: skip
            manager_b.submit(resting)
            await beta.run_jobs()
            assert beta.recorder.order_by_client_id(resting.client_order_id).state == OrderState.ACKNOWLEDGED

            # alpha: dies after its entry reached its venue and before the answer came back
            manager_a = await alpha.start()
            entry = market_intent(venue_a, "BTCUSDT")
            manager_a.submit(entry)
            with pytest.raises(Killed):
                await alpha.run_jobs()
            await alpha.crash()

            await alpha.start(client_type=VenueClient)
            [mine] = alpha.recorder.open_intents()
            assert mine.client_order_id == entry.client_order_id, "alpha sees its own open order only"
            done = await alpha.reconcile(symbols=["BTCUSDT"])
            assert done.ok, done.summary()
            assert alpha.recorder.order_by_client_id(entry.client_order_id).state == OrderState.FILLED
            assert alpha.recorder.order_by_client_id(resting.client_order_id) is None
            assert_consistent(venue_a, alpha.recorder, ["BTCUSDT"])

            # beta's resting entry is untouched: alpha's venue never had it, and alpha never looked at it
            record = beta.recorder.order_by_client_id(resting.client_order_id)
            assert record.state == OrderState.ACKNOWLEDGED
            assert [t.state for t in record.transitions][-1] == OrderState.ACKNOWLEDGED
            await beta.crash()
            await beta.start()
            done = await beta.reconcile(symbols=["ETHUSDT"])
            assert done.ok, done.summary()
            assert venue_state(venue_b)["open"] == {resting.client_order_id}
            assert_consistent(venue_b, beta.recorder, ["ETHUSDT"])
            assert venue_state(venue_b)["positions"] == {}
            assert venue_state(venue_a)["positions"] == {"BTCUSDT": entry.quantity}
        finally:
            await alpha.stop()
            await beta.stop()
