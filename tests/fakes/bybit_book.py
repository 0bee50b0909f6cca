"""Trading endpoints of the fake Bybit: orders rest in a simple book; fills happen on request."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from tests.fakes.bybit_exchange import (
    OPEN_STATUSES,
    TAKER_FEE,
    ApiError,
    FakeExchangeState,
    Params,
    dec,
    page,
    public,
    s,
)
from tests.fakes.bybit_market import FakeMarketState

MAX_ORDER_LINK_ID = 36


class FakeExchange(FakeExchangeState, FakeMarketState):
    # --- orders -----------------------------------------------------------------------------
    def order_create(self, params: Params) -> dict[str, Any]:
        category = str(params.get("category") or "")
        symbol = str(params.get("symbol") or "")
        inst = self.instrument(category, symbol)
        side, order_type = params.get("side"), params.get("orderType")
        if side not in ("Buy", "Sell"):
            raise ApiError(10001, "params error: side invalid")
        if order_type not in ("Market", "Limit"):
            raise ApiError(10001, "params error: orderType invalid")
        link = str(params.get("orderLinkId") or "")
        if len(link) > MAX_ORDER_LINK_ID:
            raise ApiError(10001, "params error: orderLinkId is too long (max 36)")
        if link and link in self.order_id_by_link:
            raise ApiError(110072, "OrderLinkedID is duplicate")
        qty = dec(params, "qty")
        assert qty is not None
        lot = inst["lotSizeFilter"]
        if qty <= 0 or qty % Decimal(lot["qtyStep"]) != 0:
            raise ApiError(10001, "params error: qty invalid")
        if qty < Decimal(lot["minOrderQty"]):
            raise ApiError(110017, "Order quantity below the lower limit")
        price = dec(params, "price", required=order_type == "Limit")
        if price is not None and price % Decimal(inst["priceFilter"]["tickSize"]) != 0:
            raise ApiError(10001, "params error: price invalid")
        self._check_stop_ticks(inst, params)
        reduce_only = bool(params.get("reduceOnly"))
        if reduce_only:
            pos = self.position(category, symbol)
            if Decimal(pos["size"]) == 0 or pos["side"] == side:
                raise ApiError(110017, "Reduce-only rule not satisfied")
        now = str(self.now_ms())
        order_id = str(uuid.uuid4())
        order = {
            "orderId": order_id,
            "orderLinkId": link,
            "blockTradeId": "",
            "symbol": symbol,
            "price": s(price) if price is not None and order_type == "Limit" else "0",
            "qty": s(qty),
            "side": side,
            "isLeverage": "",
            "positionIdx": int(params.get("positionIdx") or 0),
            "orderStatus": "New",
            "cancelType": "UNKNOWN",
            "rejectReason": "EC_NoError",
            "avgPrice": "",
            "leavesQty": s(qty),
            "leavesValue": s(qty * price) if price is not None else "0",
            "cumExecQty": "0",
            "cumExecValue": "0",
            "cumExecFee": "0",
            "timeInForce": params.get("timeInForce") or ("IOC" if order_type == "Market" else "GTC"),
            "orderType": order_type,
            "stopOrderType": "",
            "orderIv": "",
            "triggerPrice": str(params.get("triggerPrice") or ""),
            "takeProfit": str(params.get("takeProfit") or ""),
            "stopLoss": str(params.get("stopLoss") or ""),
            "triggerDirection": 0,
            "triggerBy": "",
            "reduceOnly": reduce_only,
            "closeOnTrigger": False,
            "smpType": "None",
            "placeType": "",
            "createdTime": now,
            "updatedTime": now,
            "_category": category,
        }
        self.orders[order_id] = order
        if link:
            self.order_id_by_link[link] = order_id
        mark = self.mark_prices.get(symbol)
        if order_type == "Market" and mark is not None:
            self.fill(order, mark, qty)
        return {"orderId": order_id, "orderLinkId": link}

    def order_amend(self, params: Params) -> dict[str, Any]:
        order = self.find_order(params)
        if order["orderStatus"] not in OPEN_STATUSES:
            raise ApiError(110001, "Order does not exist.")
        qty, price = dec(params, "qty", required=False), dec(params, "price", required=False)
        trigger = dec(params, "triggerPrice", required=False)
        if qty is None and price is None and trigger is None:
            raise ApiError(10001, "params error: nothing to amend")
        if qty is not None:
            filled = Decimal(order["cumExecQty"])
            if qty <= filled:
                raise ApiError(110001, "Order does not exist.")
            order["qty"], order["leavesQty"] = s(qty), s(qty - filled)
        if price is not None:
            order["price"] = s(price)
        if trigger is not None:
            order["triggerPrice"] = s(trigger)
        order["updatedTime"] = str(self.now_ms())
        return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def order_cancel(self, params: Params) -> dict[str, Any]:
        order = self.find_order(params)
        if order["orderStatus"] not in OPEN_STATUSES:
            raise ApiError(110001, "Order does not exist.")
        self._cancel(order)
        return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def _cancel(self, order: dict[str, Any]) -> None:
        order["orderStatus"] = "Cancelled"
        order["cancelType"] = "CancelByUser"
        order["leavesQty"], order["leavesValue"] = "0", "0"
        order["updatedTime"] = str(self.now_ms())

    def order_cancel_all(self, params: Params) -> dict[str, Any]:
        self._require_scope(params, "symbol", "baseCoin", "settleCoin")
        cancelled = []
        for order in self._matching_open(params):
            self._cancel(order)
            cancelled.append({"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]})
        return {"list": cancelled, "success": "1"}

    def _matching_open(self, params: Params) -> list[dict[str, Any]]:
        out = []
        for order in self.orders.values():
            if order["_category"] != params.get("category") or order["orderStatus"] not in OPEN_STATUSES:
                continue
            if params.get("symbol") and order["symbol"] != params["symbol"]:
                continue
            if params.get("settleCoin") and not order["symbol"].endswith(str(params["settleCoin"])):
                continue
            out.append(order)
        return out

    def order_realtime(self, params: Params) -> dict[str, Any]:
        self._require_scope(params, "symbol", "baseCoin", "settleCoin", "orderId", "orderLinkId")
        if params.get("orderId") or params.get("orderLinkId"):
            try:
                items = [self.find_order(params)]
            except ApiError:
                items = []
        else:
            items = self._matching_open(params)
        items = sorted(items, key=lambda o: int(o["createdTime"]), reverse=True)
        chunk, cursor = page([public(o) for o in items], params, default=20, maximum=50)
        return {"list": chunk, "nextPageCursor": cursor, "category": params.get("category")}

    def order_history(self, params: Params) -> dict[str, Any]:
        """Closed orders (and open ones when asked by id), newest first."""
        items = [
            o
            for o in self.orders.values()
            if o["_category"] == params.get("category")
            and (not params.get("symbol") or o["symbol"] == params["symbol"])
            and (not params.get("orderLinkId") or o["orderLinkId"] == params["orderLinkId"])
            and (not params.get("orderId") or o["orderId"] == params["orderId"])
            and (o["orderStatus"] not in OPEN_STATUSES or params.get("orderLinkId") or params.get("orderId"))
        ]
        items.sort(key=lambda o: int(o["createdTime"]), reverse=True)
        chunk, cursor = page([public(o) for o in items], params, default=20, maximum=50)
        return {"list": chunk, "nextPageCursor": cursor, "category": params.get("category")}

    # --- fills, positions, executions -------------------------------------------------------
    def fill(self, order: dict[str, Any], price: Decimal, qty: Decimal) -> dict[str, Any]:
        if order["orderStatus"] not in OPEN_STATUSES:
            raise ValueError(f"order {order['orderLinkId'] or order['orderId']} is not open")
        leaves = Decimal(order["leavesQty"])
        qty = min(qty, leaves)
        cum_qty = Decimal(order["cumExecQty"]) + qty
        cum_value = Decimal(order["cumExecValue"]) + qty * price
        fee = qty * price * TAKER_FEE
        order.update(
            cumExecQty=s(cum_qty),
            cumExecValue=s(cum_value),
            cumExecFee=s(Decimal(order["cumExecFee"]) + fee),
            avgPrice=s(cum_value / cum_qty),
            leavesQty=s(leaves - qty),
            orderStatus="Filled" if leaves == qty else "PartiallyFilled",
            updatedTime=str(self.now_ms()),
        )
        execution = {
            "symbol": order["symbol"],
            "orderId": order["orderId"],
            "orderLinkId": order["orderLinkId"],
            "side": order["side"],
            "orderPrice": order["price"],
            "orderQty": order["qty"],
            "leavesQty": order["leavesQty"],
            "createType": "CreateByUser",
            "orderType": order["orderType"],
            "stopOrderType": "",
            "execFee": s(fee),
            "execId": str(uuid.uuid4()),
            "execPrice": s(price),
            "execQty": s(qty),
            "execType": "Trade",
            "execValue": s(qty * price),
            "execTime": order["updatedTime"],
            "feeCurrency": "USDT",
            "isMaker": order["orderType"] == "Limit",
            "feeRate": s(TAKER_FEE),
            "markPrice": s(self.mark_prices.get(order["symbol"], price)),
            "indexPrice": "",
            "closedSize": "0",
            "seq": self._next_seq(),
            "_category": order["_category"],
        }
        self.executions.append(execution)
        self._apply_to_position(order["_category"], order["symbol"], order["side"], price, qty)
        self.wallets["UNIFIED"]["USDT"] = self.wallets["UNIFIED"].get("USDT", Decimal(0)) - fee
        return public(execution)

    def _apply_to_position(self, category: str, symbol: str, side: str, price: Decimal, qty: Decimal) -> None:
        pos = self.position(category, symbol)
        signed = Decimal(pos["size"]) * (1 if pos["side"] == "Buy" else -1)
        delta = qty if side == "Buy" else -qty
        entry = Decimal(pos["avgPrice"])
        new = signed + delta
        if signed == 0 or (signed > 0) == (delta > 0):
            entry = (abs(signed) * entry + qty * price) / abs(new)
        elif new != 0 and (new > 0) != (signed > 0):
            entry = price  # flipped: the remainder opened at this price
        if new == 0:
            entry = Decimal(0)
        pos.update(
            side="" if new == 0 else ("Buy" if new > 0 else "Sell"),
            size=s(abs(new)),
            avgPrice=s(entry),
            positionValue=s(abs(new) * entry),
            seq=self._next_seq(),
            updatedTime=str(self.now_ms()),
        )

    def position_list(self, params: Params) -> dict[str, Any]:
        self._require_scope(params, "symbol", "settleCoin", "baseCoin")
        category = str(params.get("category") or "")
        if params.get("symbol"):
            self.instrument(category, str(params["symbol"]))
            items = [self.position(category, str(params["symbol"]))]
        else:
            items = [
                p
                for (cat, sym), p in sorted(self.positions.items())
                if cat == category
                and (Decimal(p["size"]) != 0)
                and (not params.get("settleCoin") or sym.endswith(str(params["settleCoin"])))
            ]
        out = []
        for p in items:
            mark = self.mark_prices.get(p["symbol"], Decimal(p["avgPrice"]))
            size, entry = Decimal(p["size"]), Decimal(p["avgPrice"])
            upl = (mark - entry) * size * (1 if p["side"] == "Buy" else -1) if size else Decimal(0)
            p.update(markPrice=s(mark), unrealisedPnl=s(upl))
            out.append(public(p))
        chunk, cursor = page(out, params, default=20, maximum=200)
        return {"list": chunk, "nextPageCursor": cursor, "category": category}

    def set_leverage(self, params: Params) -> dict[str, Any]:
        category, symbol = str(params.get("category") or ""), str(params.get("symbol") or "")
        inst = self.instrument(category, symbol)
        buy, sell = dec(params, "buyLeverage"), dec(params, "sellLeverage")
        assert buy is not None and sell is not None
        if buy != sell:
            raise ApiError(10001, "params error: buyLeverage must equal sellLeverage in one-way mode")
        if not Decimal(1) <= buy <= Decimal(inst["leverageFilter"]["maxLeverage"]):
            raise ApiError(10001, "params error: leverage out of range")
        pos = self.position(category, symbol)
        if Decimal(pos["leverage"]) == buy:
            raise ApiError(110043, "Set leverage not modified")
        pos["leverage"] = s(buy)
        return {}

    def set_trading_stop(self, params: Params) -> dict[str, Any]:
        """/v5/position/trading-stop (one-way, tpslMode Full): a leg left out stays, "0" removes it;
        a stop-loss on the wrong side of the mark is refused as Bybit does."""
        category, symbol = str(params.get("category") or ""), str(params.get("symbol") or "")
        self.instrument(category, symbol)
        if params.get("tpslMode") not in ("Full", "Partial"):
            raise ApiError(10001, "params error: tpslMode invalid")
        if int(params.get("positionIdx", 0)) != 0:
            raise ApiError(10001, "position idx not match position mode")
        pos = self.position(category, symbol)
        if Decimal(pos["size"]) == 0:
            raise ApiError(10001, "can not set tp/sl/ts for zero position")
        self._check_stop_ticks(self.instrument(category, symbol), params)
        stop, take = dec(params, "stopLoss", required=False), dec(params, "takeProfit", required=False)
        mark = self.mark_prices.get(symbol, Decimal(pos["avgPrice"]))
        long = pos["side"] == "Buy"
        if stop is not None and stop > 0 and (stop >= mark if long else stop <= mark):
            side = "lower" if long else "higher"
            raise ApiError(10001, f"StopLoss:{s(stop)} set for {pos['side']} position should {side} than base_price")
        new = dict(pos)
        if stop is not None:
            new["stopLoss"] = s(stop) if stop > 0 else ""
        if take is not None:
            new["takeProfit"] = s(take) if take > 0 else ""
        if (new["stopLoss"], new["takeProfit"]) == (pos["stopLoss"], pos["takeProfit"]):
            raise ApiError(34040, "not modified")
        pos.update(stopLoss=new["stopLoss"], takeProfit=new["takeProfit"], updatedTime=str(self.now_ms()))
        self.trading_stops.append({"symbol": symbol, "category": category, **{k: str(v) for k, v in params.items()}})
        return {}

    @staticmethod
    def _check_stop_ticks(inst: dict[str, Any], params: Params) -> None:
        """A stop-loss/take-profit price off the instrument's tick is refused (10001), as a price is."""
        tick = Decimal(inst["priceFilter"]["tickSize"])
        for name in ("stopLoss", "takeProfit"):
            value = dec(params, name, required=False)
            if value is not None and value > 0 and value % tick != 0:
                raise ApiError(10001, f"params error: {name} invalid (tick {s(tick)})")

    def execution_list(self, params: Params) -> dict[str, Any]:
        items = [
            public(e)
            for e in reversed(self.executions)
            if e["_category"] == params.get("category")
            and (not params.get("symbol") or e["symbol"] == params["symbol"])
            and (not params.get("orderLinkId") or e["orderLinkId"] == params["orderLinkId"])
            and (not params.get("orderId") or e["orderId"] == params["orderId"])
        ]
        chunk, cursor = page(items, params, default=50, maximum=100)
        return {"list": chunk, "nextPageCursor": cursor, "category": params.get("category")}

    # --- asset ------------------------------------------------------------------------------
    def inter_transfer(self, params: Params) -> dict[str, Any]:
        transfer_id = str(params.get("transferId") or "")
        if not transfer_id:
            raise ApiError(10001, "params error: transferId is required")
        if transfer_id in self.transfers:
            return self.transfers[transfer_id]  # same id, same answer: no second movement
        coin = str(params.get("coin") or "")
        amount = dec(params, "amount")
        assert amount is not None
        src, dst = str(params.get("fromAccountType") or ""), str(params.get("toAccountType") or "")
        if not coin or src not in self.wallets or dst not in self.wallets or src == dst or amount <= 0:
            raise ApiError(10001, "params error: coin, amount or account type invalid")
        if self.wallets[src].get(coin, Decimal(0)) < amount:
            raise ApiError(131212, "Insufficient balance")
        self.wallets[src][coin] -= amount
        self.wallets[dst][coin] = self.wallets[dst].get(coin, Decimal(0)) + amount
        result = {"transferId": transfer_id, "status": "SUCCESS"}
        self.transfers[transfer_id] = result
        return result
