"""The ``/fapi`` REST surface: parameter parsing, security checks, weights, faults, and every endpoint's JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol
from urllib.parse import parse_qsl

import numpy as np
from aiohttp import web

from ictbot.exchange.engine import MAKER_FEE, TAKER_FEE, Engine
from ictbot.exchange.errors import BinanceError
from ictbot.exchange.faults import Faults
from ictbot.exchange.limits import RateLimiter, request_weight
from ictbot.exchange.numbers import ZERO, fmt, parse_int
from ictbot.exchange.records import Position
from ictbot.exchange.replay import DEFAULT_FUNDING_RATE, INTERVAL_MS, MarketReplay
from ictbot.exchange.signing import Credentials, check_api_key, verify_signed
from ictbot.exchange.streams import StreamHub
from ictbot.symbols import bracket_for, leverage_brackets

Params = dict[str, str]
Handler = Callable[[Params], object]

NONE, API_KEY, SIGNED = "NONE", "API_KEY", "SIGNED"
_ORDER_ENDPOINTS = {("POST", "/fapi/v1/order"), ("POST", "/fapi/v1/algoOrder")}


class Exchange(Protocol):
    """What the REST API reads of the exchange it serves (``LocalExchange``)."""

    engine: Engine
    replay: MarketReplay
    credentials: Credentials
    limiter: RateLimiter
    faults: Faults
    hub: StreamHub
    listen_key_ttl_ms: int
    withdrawals_enabled: bool

    def server_time(self) -> int: ...

    def wall_time(self) -> int: ...


class RestApi:
    """Serves ``/fapi/...`` for one :class:`LocalExchange`."""

    def __init__(self, exchange: Exchange) -> None:
        self.x = exchange
        self.engine = exchange.engine
        self.replay = exchange.replay
        s = self
        self.endpoints: dict[tuple[str, str], tuple[str, Handler]] = {
            ("GET", "/fapi/v1/ping"): (NONE, lambda p: {}),
            ("GET", "/fapi/v1/time"): (NONE, lambda p: {"serverTime": s.x.server_time()}),
            ("GET", "/fapi/v1/exchangeInfo"): (NONE, s.exchange_info),
            ("GET", "/fapi/v1/klines"): (NONE, s.klines),
            ("GET", "/fapi/v1/markPriceKlines"): (NONE, s.mark_price_klines),
            ("GET", "/fapi/v1/premiumIndex"): (NONE, s.premium_index),
            ("GET", "/fapi/v1/fundingRate"): (NONE, s.funding_rate),
            ("GET", "/fapi/v1/ticker/price"): (NONE, s.ticker_price),
            ("POST", "/fapi/v1/listenKey"): (API_KEY, s.listen_key_open),
            ("PUT", "/fapi/v1/listenKey"): (API_KEY, s.listen_key_keepalive),
            ("DELETE", "/fapi/v1/listenKey"): (API_KEY, s.listen_key_close),
            ("GET", "/sapi/v1/account/apiRestrictions"): (SIGNED, s.api_restrictions),
            ("POST", "/fapi/v1/order"): (SIGNED, s.new_order),
            ("GET", "/fapi/v1/order"): (SIGNED, s.get_order),
            ("DELETE", "/fapi/v1/order"): (SIGNED, s.cancel_order),
            ("GET", "/fapi/v1/openOrder"): (SIGNED, s.get_open_order),
            ("GET", "/fapi/v1/openOrders"): (SIGNED, s.open_orders),
            ("GET", "/fapi/v1/allOrders"): (SIGNED, s.all_orders),
            ("DELETE", "/fapi/v1/allOpenOrders"): (SIGNED, s.cancel_all),
            ("POST", "/fapi/v1/algoOrder"): (SIGNED, s.new_algo),
            ("GET", "/fapi/v1/algoOrder"): (SIGNED, s.get_algo),
            ("DELETE", "/fapi/v1/algoOrder"): (SIGNED, s.cancel_algo),
            ("GET", "/fapi/v1/openAlgoOrders"): (SIGNED, s.open_algos),
            ("GET", "/fapi/v1/allAlgoOrders"): (SIGNED, s.all_algos),
            ("DELETE", "/fapi/v1/algoOpenOrders"): (SIGNED, s.cancel_all_algos),
            ("POST", "/fapi/v1/leverage"): (SIGNED, s.leverage),
            ("POST", "/fapi/v1/marginType"): (SIGNED, s.margin_type),
            ("POST", "/fapi/v1/positionSide/dual"): (SIGNED, s.set_dual),
            ("GET", "/fapi/v1/positionSide/dual"): (SIGNED, lambda p: {"dualSidePosition": s.engine.dual_side}),
            ("GET", "/fapi/v2/account"): (SIGNED, lambda p: s.account(v2=True)),
            ("GET", "/fapi/v3/account"): (SIGNED, lambda p: s.account(v2=False)),
            ("GET", "/fapi/v2/balance"): (SIGNED, s.balance),
            ("GET", "/fapi/v3/balance"): (SIGNED, s.balance),
            ("GET", "/fapi/v2/positionRisk"): (SIGNED, lambda p: s.position_risk(p, v2=True)),
            ("GET", "/fapi/v3/positionRisk"): (SIGNED, lambda p: s.position_risk(p, v2=False)),
            ("GET", "/fapi/v1/symbolConfig"): (SIGNED, s.symbol_config),
            ("GET", "/fapi/v1/accountConfig"): (SIGNED, s.account_config),
            ("GET", "/fapi/v1/userTrades"): (SIGNED, s.user_trades),
            ("GET", "/fapi/v1/income"): (SIGNED, s.income),
            ("GET", "/fapi/v1/commissionRate"): (SIGNED, s.commission_rate),
            ("GET", "/fapi/v1/leverageBracket"): (SIGNED, s.leverage_bracket),
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/fapi/{tail:.*}", self.handle),
            web.get("/sapi/v1/account/apiRestrictions", self.handle),
        ]

    # ------------------------------------------------------------------------------------------------ pipeline
    async def handle(self, request: web.Request) -> web.Response:
        """Faults, then weight, then security, then the endpoint; Binance's headers on every answer."""
        x = self.x
        if x.faults.latency_ms:
            await asyncio.sleep(x.faults.latency_ms / 1000)
        key = (request.method, request.path)
        query = request.rel_url.raw_query_string
        body = await request.text() if request.body_exists else ""
        params = dict(parse_qsl(body, keep_blank_values=True))
        params.update(parse_qsl(query, keep_blank_values=True))
        now = x.wall_time()
        headers: dict[str, str] = {}
        try:
            if x.faults.failures:
                return _failure(x.faults.failures.popleft())
            x.limiter.charge(request_weight(*key, params), now)
            entry = self.endpoints.get(key)
            if entry is None:
                return web.Response(status=404, text="<html><body><h2>404 Not found</h2></body></html>")
            security, handler = entry
            if security != NONE:
                check_api_key(x.credentials, request.headers.get("X-MBX-APIKEY"))
            if security == SIGNED:
                verify_signed(x.credentials, query, body, params, x.server_time())
            if key in _ORDER_ENDPOINTS:
                x.limiter.count_order(now)
                ten_s, minute = x.limiter.order_counts(now)
                headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1M"] = str(ten_s), str(minute)
                if x.faults.unknown_status:
                    executed = x.faults.unknown_status.popleft()
                    if executed:
                        handler(params)
                    raise BinanceError(-1007)
            result = handler(params)
            status = 200
        except BinanceError as error:
            result, status = error.body(), error.status
        headers["X-MBX-USED-WEIGHT-1M"] = str(x.limiter.used_weight)
        return web.Response(status=status, text=json.dumps(result), content_type="application/json", headers=headers)

    # ------------------------------------------------------------------------------------------ market data
    def exchange_info(self, params: Params) -> object:
        symbols = []
        for feed in self.replay.feeds.values():
            spec = feed.spec
            pp, qp = feed.price_places, feed.qty_places
            base = spec.symbol.removesuffix("USDT")
            symbols.append(
                {
                    "symbol": spec.symbol,
                    "pair": spec.symbol,
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": int(feed.frame.open_time[0]),
                    "status": "TRADING",
                    "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000",
                    "baseAsset": base,
                    "quoteAsset": "USDT",
                    "marginAsset": "USDT",
                    "pricePrecision": pp,
                    "quantityPrecision": qp,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "settlePlan": 0,
                    "triggerProtect": "0.0500",
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": fmt(spec.tick_size, pp),
                            "maxPrice": fmt(Decimal(10_000_000), pp),
                            "tickSize": fmt(spec.tick_size, pp),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": fmt(spec.min_qty, qp),
                            "maxQty": fmt(spec.max_qty, qp),
                            "stepSize": fmt(spec.step_size, qp),
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "minQty": fmt(spec.min_qty, qp),
                            "maxQty": fmt(spec.market_max_qty, qp),
                            "stepSize": fmt(spec.step_size, qp),
                        },
                        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                        {"filterType": "MIN_NOTIONAL", "notional": fmt(spec.min_notional)},
                        {
                            "filterType": "PERCENT_PRICE",
                            "multiplierUp": fmt(spec.percent_up, 4),
                            "multiplierDown": fmt(spec.percent_down, 4),
                            "multiplierDecimal": "4",
                        },
                    ],
                    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                }
            )
        x = self.x
        return {
            "timezone": "UTC",
            "serverTime": x.server_time(),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": x.limiter.weight_limit,
                    "rateLimitType": "REQUEST_WEIGHT",
                },
                {"interval": "SECOND", "intervalNum": 10, "limit": x.limiter.orders_per_10s, "rateLimitType": "ORDERS"},
                {
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": x.limiter.orders_per_minute,
                    "rateLimitType": "ORDERS",
                },
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        }

    def klines(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        interval = _required(params, "interval")
        limit = parse_int(params, "limit", 500) or 500
        if limit < 1:
            raise BinanceError(-1130, "limit")
        return self.replay.klines(
            symbol, interval, parse_int(params, "startTime"), parse_int(params, "endTime"), min(limit, 1500)
        )

    def mark_price_klines(self, params: Params) -> object:
        """Mark-price candles: the recorded mark file's where one was loaded (at its own interval, up to the replay
        clock), else the trade candles, which are this exchange's mark price. Mark candles carry no volume."""
        symbol = _required(params, "symbol")
        interval = _required(params, "interval")
        limit = min(parse_int(params, "limit", 500) or 500, 1500)
        if limit < 1:
            raise BinanceError(-1130, "limit")
        start, end = parse_int(params, "startTime"), parse_int(params, "endTime")
        mark = self.x.marks.get(symbol)
        if mark is None:
            rows = self.replay.klines(symbol, interval, start, end, limit)
            return [[*r[:5], "0", r[6], "0", 0, "0", "0", "0"] for r in rows]
        if INTERVAL_MS.get(interval) != mark.timeframe.ms:
            raise BinanceError(-1120, msg=f"Invalid interval; the recorded mark prices are {mark.timeframe}.")
        self.replay.feed(symbol)  # an unknown symbol is refused as Binance does (-1121)
        keep = mark.open_time <= self.replay.now
        if start is not None:
            keep &= mark.open_time >= start
        if end is not None:
            keep &= mark.open_time <= end
        chosen = np.flatnonzero(keep)
        chosen = chosen[:limit] if start is not None else chosen[-limit:]
        return [
            [
                int(mark.open_time[i]),
                *(fmt(Decimal(repr(float(c[i]))), 8) for c in (mark.open, mark.high, mark.low, mark.close)),
                "0",
                int(mark.open_time[i]) + mark.timeframe.ms - 1,
                "0",
                0,
                "0",
                "0",
                "0",
            ]
            for i in chosen
        ]

    def _settlement_mark(self, symbol: str, time: int) -> str:
        """The recorded mark price at a funding settlement, as Binance's funding history reports it; "" if unknown."""
        mark = self.x.marks.get(symbol)
        if mark is None:
            return ""
        i = int(np.searchsorted(mark.open_time, time))
        if i == len(mark) or int(mark.open_time[i]) != time:
            return ""
        return fmt(Decimal(repr(float(mark.open[i]))), 8)

    def _premium(self, symbol: str) -> dict[str, object]:
        feed = self.replay.feed(symbol)
        price = fmt(feed.last_price, feed.price_places + 2)
        next_funding = self.replay.next_funding_time()
        return {
            "symbol": symbol,
            "markPrice": price,
            "indexPrice": price,
            "estimatedSettlePrice": price,
            "lastFundingRate": fmt(feed.funding_rate(next_funding), 8),
            "interestRate": fmt(DEFAULT_FUNDING_RATE, 8),
            "nextFundingTime": next_funding,
            "time": self.engine.time,
        }

    def premium_index(self, params: Params) -> object:
        if params.get("symbol"):
            return self._premium(params["symbol"])
        return [self._premium(s) for s in self.replay.feeds]

    def funding_rate(self, params: Params) -> object:
        rows = []
        for symbol, feed in self.replay.feeds.items():
            if params.get("symbol") not in (None, symbol):
                continue
            for time, rate in sorted(feed.funding.items()):
                if time <= self.replay.now:
                    mark = self._settlement_mark(symbol, time)
                    rows.append({"symbol": symbol, "fundingRate": fmt(rate, 8), "fundingTime": time, "markPrice": mark})
        start, end = parse_int(params, "startTime"), parse_int(params, "endTime")
        rows = [
            r for r in rows if (start is None or r["fundingTime"] >= start) and (end is None or r["fundingTime"] <= end)
        ]
        limit = parse_int(params, "limit", 100) or 100
        return rows[:limit] if start is not None else rows[-limit:]

    def ticker_price(self, params: Params) -> object:
        def row(symbol: str) -> dict[str, object]:
            feed = self.replay.feed(symbol)
            return {"symbol": symbol, "price": fmt(feed.last_price, feed.price_places), "time": self.engine.time}

        return row(params["symbol"]) if params.get("symbol") else [row(s) for s in self.replay.feeds]

    # ------------------------------------------------------------------------------------------- user stream
    def api_restrictions(self, params: Params) -> object:
        """The key's permissions (Binance's spot ``sapi``): futures trading, and withdrawals only if enabled."""
        return {
            "ipRestrict": False,
            "createTime": 1700000000000,
            "enableReading": True,
            "enableFutures": True,
            "enableWithdrawals": self.x.withdrawals_enabled,
            "enableInternalTransfer": False,
            "permitsUniversalTransfer": False,
            "enableMargin": False,
            "enableSpotAndMarginTrading": False,
            "enableVanillaOptions": False,
        }

    def listen_key_open(self, params: Params) -> object:
        return {"listenKey": self.x.hub.open_listen_key(self.x.wall_time(), self.x.listen_key_ttl_ms)}

    def listen_key_keepalive(self, params: Params) -> object:
        return {"listenKey": self.x.hub.keep_alive(self.x.wall_time(), self.x.listen_key_ttl_ms)}

    def listen_key_close(self, params: Params) -> object:
        self.x.hub.close_listen_key()
        return {}

    # ------------------------------------------------------------------------------------------------ orders
    def new_order(self, params: Params) -> object:
        order, ack = self.engine.place_order(params)
        return order.to_json() if params.get("newOrderRespType") == "RESULT" else ack

    def get_order(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        return self.engine.query_order(symbol, parse_int(params, "orderId"), params.get("origClientOrderId")).to_json()

    def get_open_order(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        order = self.engine.query_order(symbol, parse_int(params, "orderId"), params.get("origClientOrderId"))
        if not order.is_open:
            raise BinanceError(-2013)
        return order.to_json()

    def cancel_order(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        return self.engine.cancel_order(symbol, parse_int(params, "orderId"), params.get("origClientOrderId")).to_json()

    def open_orders(self, params: Params) -> object:
        symbol = params.get("symbol")
        if symbol:
            self.replay.feed(symbol)
        return [o.to_json() for o in self.engine.open_orders(symbol)]

    def all_orders(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        self.replay.feed(symbol)
        rows = [o for o in self.engine.orders.values() if o.symbol == symbol]
        return [o.to_json() for o in _window(rows, params, lambda o: o.time, 500, 1000)]

    def cancel_all(self, params: Params) -> object:
        self.engine.cancel_all(_required(params, "symbol"))
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def new_algo(self, params: Params) -> object:
        return self.engine.place_algo(params).to_json()

    def get_algo(self, params: Params) -> object:
        return self.engine.query_algo(parse_int(params, "algoId"), params.get("clientAlgoId")).to_json()

    def cancel_algo(self, params: Params) -> object:
        algo = self.engine.cancel_algo(parse_int(params, "algoId"), params.get("clientAlgoId"))
        return {"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id, "code": "200", "msg": "success"}

    def open_algos(self, params: Params) -> object:
        symbol = params.get("symbol")
        if symbol:
            self.replay.feed(symbol)
        return [a.to_json() for a in self.engine.open_algos(symbol)]

    def all_algos(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        self.replay.feed(symbol)
        rows = [a for a in self.engine.algos.values() if a.symbol == symbol]
        return [a.to_json() for a in _window(rows, params, lambda a: a.create_time, 500, 1000)]

    def cancel_all_algos(self, params: Params) -> object:
        self.engine.cancel_all_algos(_required(params, "symbol"))
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    # ----------------------------------------------------------------------------------------------- account
    def leverage(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        leverage = parse_int(params, "leverage")
        if leverage is None:
            raise BinanceError(-1102, "leverage")
        self.engine.set_leverage(symbol, leverage)
        cap = _max_notional(symbol, leverage)
        return {"leverage": leverage, "maxNotionalValue": cap, "symbol": symbol}

    def margin_type(self, params: Params) -> object:
        self.engine.set_margin_type(_required(params, "symbol"), _required(params, "marginType").upper())
        return {"code": 200, "msg": "success"}

    def set_dual(self, params: Params) -> object:
        value = _required(params, "dualSidePosition").lower()
        if value not in ("true", "false"):
            raise BinanceError(-1102, "dualSidePosition")
        self.engine.set_dual_side(value == "true")
        return {"code": 200, "msg": "success"}

    def _position_row(self, p: Position, *, v2: bool) -> dict[str, object]:
        e = self.engine
        mark = e.mark(p.symbol)
        feed = self.replay.feeds[p.symbol]
        settings = e.settings[p.symbol]
        isolated = settings.margin_type == "ISOLATED"
        unrealized = p.unrealized(mark)
        row: dict[str, object] = {
            "symbol": p.symbol,
            "positionSide": p.side,
            "positionAmt": fmt(p.amount, feed.qty_places),
            "entryPrice": fmt(p.entry_price.quantize(Decimal("1e-8"))),
            "breakEvenPrice": fmt(p.entry_price.quantize(Decimal("1e-8"))),
            "markPrice": fmt(mark, feed.price_places + 2),
            "unRealizedProfit": fmt(unrealized, 8),
            "liquidationPrice": fmt(e.liquidation_price(p).quantize(Decimal("1e-8"))),
            "isolatedMargin": fmt(p.isolated_wallet + unrealized if isolated and p.amount else ZERO, 8),
            "notional": fmt(p.amount * mark, 8),
            "marginAsset": "USDT",
            "isolatedWallet": fmt(p.isolated_wallet, 8),
            "initialMargin": fmt(e.initial_margin(p), 8),
            "maintMargin": fmt(e.maint_margin(p), 8),
            "positionInitialMargin": fmt(e.initial_margin(p), 8),
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": p.update_time,
        }
        if v2:
            row.update(
                {
                    "marginType": "isolated" if isolated else "cross",
                    "isAutoAddMargin": "false",
                    "leverage": str(settings.leverage),
                    "maxNotionalValue": _max_notional(p.symbol, settings.leverage),
                }
            )
        return row

    def _all_position_rows(self, symbol: str | None = None) -> list[Position]:
        sides = ("LONG", "SHORT") if self.engine.dual_side else ("BOTH",)
        return [self.engine.position(s, side) for s in self.replay.feeds if symbol in (None, s) for side in sides]

    def position_risk(self, params: Params, *, v2: bool) -> object:
        symbol = params.get("symbol")
        if symbol:
            self.replay.feed(symbol)
        rows = self._all_position_rows(symbol)
        if not v2:
            symbols_with_orders = {o.symbol for o in self.engine.open_orders()}
            rows = [p for p in rows if p.amount or p.symbol in symbols_with_orders]
        return [self._position_row(p, v2=v2) for p in rows]

    def _balances(self) -> dict[str, str]:
        e = self.engine
        unrealized = sum((p.unrealized(e.mark(p.symbol)) for p in e.open_positions()), ZERO)
        initial = sum((e.initial_margin(p) for p in e.open_positions()), ZERO)
        maint = sum((e.maint_margin(p) for p in e.open_positions()), ZERO)
        available = max(e.available(), ZERO)
        return {
            "walletBalance": fmt(e.wallet, 8),
            "unrealizedProfit": fmt(unrealized, 8),
            "marginBalance": fmt(e.wallet + unrealized, 8),
            "maintMargin": fmt(maint, 8),
            "initialMargin": fmt(initial + e.open_order_margin(), 8),
            "positionInitialMargin": fmt(initial, 8),
            "openOrderInitialMargin": fmt(e.open_order_margin(), 8),
            "crossWalletBalance": fmt(e.cross_wallet(), 8),
            "crossUnPnl": fmt(e.cross_unrealized(), 8),
            "availableBalance": fmt(available, 8),
            "maxWithdrawAmount": fmt(available, 8),
        }

    def account(self, *, v2: bool) -> object:
        b = self._balances()
        asset = {"asset": "USDT", **b, "marginAvailable": True, "updateTime": self.engine.time}
        totals = {
            "totalInitialMargin": b["initialMargin"],
            "totalMaintMargin": b["maintMargin"],
            "totalWalletBalance": b["walletBalance"],
            "totalUnrealizedProfit": b["unrealizedProfit"],
            "totalMarginBalance": b["marginBalance"],
            "totalPositionInitialMargin": b["positionInitialMargin"],
            "totalOpenOrderInitialMargin": b["openOrderInitialMargin"],
            "totalCrossWalletBalance": b["crossWalletBalance"],
            "totalCrossUnPnl": b["crossUnPnl"],
            "availableBalance": b["availableBalance"],
            "maxWithdrawAmount": b["maxWithdrawAmount"],
        }
        positions = []
        for p in self._all_position_rows():
            row = self._position_row(p, v2=True)
            entry = {
                k: row[k]
                for k in (
                    "symbol",
                    "positionSide",
                    "positionAmt",
                    "isolatedMargin",
                    "notional",
                    "isolatedWallet",
                    "initialMargin",
                    "maintMargin",
                    "updateTime",
                )
            }
            entry["unrealizedProfit"] = row["unRealizedProfit"]
            if v2:
                entry.update(
                    leverage=row["leverage"],
                    isolated=row["marginType"] == "isolated",
                    entryPrice=row["entryPrice"],
                    maxNotional=row["maxNotionalValue"],
                    bidNotional="0",
                    askNotional="0",
                    positionInitialMargin=row["positionInitialMargin"],
                    openOrderInitialMargin="0",
                )
            elif not p.amount:
                continue
            positions.append(entry)
        body: dict[str, object] = {**totals, "assets": [asset], "positions": positions}
        if v2:
            body.update(
                feeTier=0,
                feeBurn=False,
                canTrade=True,
                canDeposit=True,
                canWithdraw=True,
                updateTime=0,
                multiAssetsMargin=False,
                tradeGroupId=-1,
            )
        return body

    def balance(self, params: Params) -> object:
        b = self._balances()
        return [
            {
                "accountAlias": "ictbotLocal",
                "asset": "USDT",
                "balance": b["walletBalance"],
                "crossWalletBalance": b["crossWalletBalance"],
                "crossUnPnl": b["crossUnPnl"],
                "availableBalance": b["availableBalance"],
                "maxWithdrawAmount": b["maxWithdrawAmount"],
                "marginAvailable": True,
                "updateTime": self.engine.time,
            }
        ]

    def symbol_config(self, params: Params) -> object:
        symbol = params.get("symbol")
        rows = []
        for s, settings in self.engine.settings.items():
            if symbol in (None, s):
                rows.append(
                    {
                        "symbol": s,
                        "marginType": settings.margin_type,
                        "isAutoAddMargin": "false",
                        "leverage": settings.leverage,
                        "maxNotionalValue": _max_notional(s, settings.leverage),
                    }
                )
        if symbol and not rows:
            raise BinanceError(-1121)
        return rows

    def account_config(self, params: Params) -> object:
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": self.engine.dual_side,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }

    def user_trades(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        self.replay.feed(symbol)
        order_id = parse_int(params, "orderId")
        from_id = parse_int(params, "fromId")
        rows = [
            t
            for t in self.engine.trades
            if t.symbol == symbol
            and (order_id is None or t.order_id == order_id)
            and (from_id is None or t.trade_id >= from_id)
        ]
        return [t.to_json() for t in _window(rows, params, lambda t: t.time, 500, 1000)]

    def income(self, params: Params) -> object:
        symbol, income_type = params.get("symbol"), params.get("incomeType")
        rows = [i for i in self.engine.income if symbol in (None, i.symbol) and income_type in (None, i.income_type)]
        return [i.to_json() for i in _window(rows, params, lambda i: i.time, 100, 1000)]

    def commission_rate(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        self.replay.feed(symbol)
        return {"symbol": symbol, "makerCommissionRate": fmt(MAKER_FEE), "takerCommissionRate": fmt(TAKER_FEE)}

    def leverage_bracket(self, params: Params) -> object:
        def entry(symbol: str) -> dict[str, object]:
            return {
                "symbol": symbol,
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": b.bracket,
                        "initialLeverage": b.initial_leverage,
                        "notionalCap": int(b.notional_cap),
                        "notionalFloor": int(b.notional_floor),
                        "maintMarginRatio": float(b.maint_margin_ratio),
                        "cum": float(b.cum),
                    }
                    for b in leverage_brackets(symbol)
                ],
            }

        symbol = params.get("symbol")
        if symbol:
            self.replay.feed(symbol)
            return entry(symbol)
        return [entry(s) for s in self.replay.feeds]


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise BinanceError(-1102, name)
    return value


def _max_notional(symbol: str, leverage: int) -> str:
    """The largest notional the leverage allows: the cap of the last tier that still permits it."""
    allowed = [b for b in leverage_brackets(symbol) if b.initial_leverage >= leverage]
    return fmt(allowed[-1].notional_cap if allowed else bracket_for(symbol, ZERO).notional_cap)


def _window(rows: list, params: Params, time_of: Callable[[object], int], default: int, maximum: int) -> list:
    """Binance's history paging: startTime/endTime filter, then the oldest ``limit`` (or newest without start)."""
    start, end = parse_int(params, "startTime"), parse_int(params, "endTime")
    limit = min(parse_int(params, "limit", default) or default, maximum)
    rows = [r for r in rows if (start is None or time_of(r) >= start) and (end is None or time_of(r) <= end)]
    return rows[:limit] if start is not None else rows[-limit:]


def _failure(status: int) -> web.Response:
    """An injected server-side failure as Binance's front end answers it."""
    if status == 503:
        return web.Response(status=503, text="Service Unavailable.")
    body = BinanceError(-1001).body()
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
