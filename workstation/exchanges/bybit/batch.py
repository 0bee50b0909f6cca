"""Batch create (/v5/order/create-batch): one request per category and chunk, one outcome per order.

Bybit answers a batch with HTTP 200 and retCode 0 even when some orders fail: `result.list` and
`retExtInfo.list` are aligned with the request, and each order carries its own code and message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workstation.core.enums import OrderStatus
from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.core.types import OrderAck, OrderRequest
from workstation.exchanges.bybit.errors import TRANSIENT_CODES

if TYPE_CHECKING:
    from workstation.exchanges.bybit.client import BybitExecutionClient

BATCH_LIMIT = 10  # orders per create-batch call (Bybit allows 10 for spot/option, 20 for linear)


def item_outcome(request: OrderRequest, result: dict[str, Any], ext: dict[str, Any]) -> OrderAck | ExchangeError:
    code = int(ext.get("code") or 0)
    if code == 0:
        return OrderAck(request.client_order_id, result.get("orderId") or None, OrderStatus.NEW, "accepted")
    message = f"bybit place_order (batch) {request.client_order_id}: {ext.get('msg') or 'refused'}"
    if code in TRANSIENT_CODES:
        return ExchangeUnavailable(message, code=code)
    return ExchangeError(message, code=code)


async def place_batch(client: BybitExecutionClient, requests: list[OrderRequest]) -> list[OrderAck | ExchangeError]:
    from workstation.exchanges.bybit.client import order_params

    outcomes: dict[str, OrderAck | ExchangeError] = {}
    by_category: dict[str, list[OrderRequest]] = {}
    for request in requests:
        by_category.setdefault(request.category.value, []).append(request)
    for category, group in by_category.items():
        for start in range(0, len(group), BATCH_LIMIT):
            chunk = group[start : start + BATCH_LIMIT]
            response = await client._call_full(
                "place_orders", "place_batch_order", category=category, request=[order_params(r) for r in chunk]
            )
            results = (response.get("result") or {}).get("list") or []
            exts = (response.get("retExtInfo") or {}).get("list") or []
            for i, request in enumerate(chunk):
                result = results[i] if i < len(results) else {}
                ext = exts[i] if i < len(exts) else {"code": -1, "msg": "no answer for this order in the batch"}
                if ext.get("code") == -1:
                    outcomes[request.client_order_id] = ExchangeUnavailable(
                        f"bybit place_order (batch) {request.client_order_id}: no answer for this order"
                    )
                else:
                    outcomes[request.client_order_id] = item_outcome(request, result, ext)
    return [outcomes[r.client_order_id] for r in requests]
