"""Builders, error assertions and SQL probes for the procurement tests.

Every builder makes unique values (uuid suffix): the database is shared by the whole session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import grpc
import pytest
from erp.procurement.v1 import events_pb2 as ev
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api
from erp.procurement.v1 import procurement_service_pb2_grpc as api_grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.grpc_errors import field_violations

Stub = api_grpc.ProcurementServiceStub
Code = grpc.StatusCode

CREATOR = str(uuid.uuid4())
APPROVER = str(uuid.uuid4())

# Tables a command may write; "nothing written" compares their row counts (and some contents).
WRITE_TABLES = (
    "vendors",
    "purchase_orders",
    "purchase_order_items",
    "purchase_order_receipts",
    "vendor_performance",
    "po_number_sequences",
    "event_store",
    "outbox",
)


def tag() -> str:
    return uuid.uuid4().hex[:10]


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def day(year: int, month: int, d: int) -> Date:
    return Date(year=year, month=month, day=d)


def mask(*paths: str) -> FieldMask:
    return FieldMask(paths=list(paths))


def as_user(user_id: str) -> tuple[tuple[str, str], ...]:
    return (("x-erp-user-id", user_id),)


CALLER = as_user(CREATOR)


# ---- builders ----------------------------------------------------------------------------------


def vendor_request(**overrides: Any) -> api.CreateVendorRequest:
    values: dict[str, Any] = {
        "name": f"Vendor {tag()}",
        "email": f"orders-{tag()}@vendor.example",
        "payment_terms": "Net 30",
        "rating": dec("4.50"),
    }
    values.update(overrides)
    return api.CreateVendorRequest(**values)


async def create_vendor(stub: Stub, **overrides: Any) -> pb.Vendor:
    return (await stub.CreateVendor(vendor_request(**overrides), metadata=CALLER)).vendor


async def set_vendor_status(stub: Stub, vendor: pb.Vendor, status: int) -> pb.Vendor:
    req = api.UpdateVendorRequest(
        vendor=pb.Vendor(id=vendor.id, status=status), update_mask=mask("status"), version=vendor.version
    )
    return (await stub.UpdateVendor(req)).vendor


def item(sku: str | None = None, quantity: int = 10, price: str = "12.50", **kw: Any) -> api.PurchaseOrderItemInput:
    return api.PurchaseOrderItemInput(
        sku=sku or f"SKU-{tag()}",
        description=kw.pop("description", "Widget"),
        quantity=quantity,
        unit_price=dec(price),
        **kw,
    )


def order_request(vendor_id: str, items: list[api.PurchaseOrderItemInput] | None = None, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "vendor_id": vendor_id,
        "order_date": day(2024, 3, 1),
        "expected_delivery_date": day(2024, 3, 15),
        "items": items if items is not None else [item()],
        "requesting_department": "Operations",
    }
    values.update(overrides)
    return api.CreatePurchaseOrderRequest(**values)


async def create_order(
    stub: Stub,
    vendor_id: str,
    items: list[api.PurchaseOrderItemInput] | None = None,
    *,
    user: str = CREATOR,
    **overrides: Any,
) -> pb.PurchaseOrder:
    req = order_request(vendor_id, items, **overrides)
    return (await stub.CreatePurchaseOrder(req, metadata=as_user(user))).purchase_order


async def approve(stub: Stub, po: pb.PurchaseOrder, user: str = APPROVER) -> pb.PurchaseOrder:
    req = api.ApprovePurchaseOrderRequest(id=po.id, version=po.version)
    return (await stub.ApprovePurchaseOrder(req, metadata=as_user(user))).purchase_order


async def mark_ordered(stub: Stub, po: pb.PurchaseOrder, **kw: Any) -> pb.PurchaseOrder:
    req = api.MarkPurchaseOrderOrderedRequest(id=po.id, version=po.version, **kw)
    return (await stub.MarkPurchaseOrderOrdered(req, metadata=CALLER)).purchase_order


async def ordered_order(
    stub: Stub, vendor_id: str, items: list[api.PurchaseOrderItemInput] | None = None, **overrides: Any
) -> pb.PurchaseOrder:
    return await mark_ordered(stub, await approve(stub, await create_order(stub, vendor_id, items, **overrides)))


def receipt(
    po: pb.PurchaseOrder, lines: list[tuple[int, int, int]], when: Date | None = None, **kw: Any
) -> api.ReceivePurchaseOrderRequest:
    """`lines`: (index of the item in the order, quantity received, quantity rejected)."""
    return api.ReceivePurchaseOrderRequest(
        id=po.id,
        version=po.version,
        receipt_date=when or day(2024, 3, 10),
        lines=[
            api.ReceiptLineInput(purchase_order_item_id=po.items[i].id, quantity_received=rec, quantity_rejected=rej)
            for i, rec, rej in lines
        ],
        **kw,
    )


async def receive(
    stub: Stub, po: pb.PurchaseOrder, lines: list[tuple[int, int, int]], when: Date | None = None, user: str = APPROVER
) -> pb.PurchaseOrder:
    return (await stub.ReceivePurchaseOrder(receipt(po, lines, when), metadata=as_user(user))).purchase_order


# ---- error assertions --------------------------------------------------------------------------


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


def assert_violation(err: grpc.aio.AioRpcError, name: str) -> None:
    fields = violation_fields(err)
    assert any(f == name or f.endswith("." + name) for f in fields), (name, field_violations(err))


# ---- SQL -----------------------------------------------------------------------------------------


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in WRITE_TABLES)
    return dict(await db.fetchrow(sql))


async def _snapshot(db: asyncpg.Connection, orders: tuple[str, ...], vendors: tuple[str, ...]) -> Any:
    return (
        await counts(db),
        [dict(r) for r in await db.fetch("SELECT * FROM po_number_sequences ORDER BY year")],
        [dict(r) for r in await db.fetch("SELECT * FROM vendor_performance ORDER BY id")],
        [
            dict(r) if r else None
            for r in [await db.fetchrow("SELECT * FROM purchase_orders WHERE id = $1", uuid.UUID(o)) for o in orders]
        ],
        [
            [
                dict(r)
                for r in await db.fetch(
                    "SELECT * FROM purchase_order_items WHERE purchase_order_id = $1 ORDER BY line_number", uuid.UUID(o)
                )
            ]
            for o in orders
        ],
        [
            dict(r) if r else None
            for r in [await db.fetchrow("SELECT * FROM vendors WHERE id = $1", uuid.UUID(v)) for v in vendors]
        ],
    )


@asynccontextmanager
async def nothing_written(
    db: asyncpg.Connection, *, orders: tuple[str, ...] = (), vendors: tuple[str, ...] = ()
) -> AsyncIterator[None]:
    """No row added anywhere; the named orders (with items), vendors, sequences and metrics unchanged."""
    before = await _snapshot(db, orders, vendors)
    yield
    assert await _snapshot(db, orders, vendors) == before


async def rejected(
    db: asyncpg.Connection,
    call: Callable[[], Awaitable[Any]],
    code: grpc.StatusCode,
    *,
    fields: tuple[str, ...] = (),
    orders: tuple[str, ...] = (),
    vendors: tuple[str, ...] = (),
    message: str = "",
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code` (naming `fields`, mentioning `message`) and writes nothing.

    `call` is a factory: a grpc.aio call starts when created, so only after the "before" snapshot."""
    async with nothing_written(db, orders=orders, vendors=vendors):
        err = await rpc_error(call(), code)
    for name in fields:
        assert_violation(err, name)
    assert message in (err.details() or "")
    return err


def decode_event(event_type: str, payload: bytes) -> Message:
    msg: Message = getattr(ev, event_type.rsplit(".", 1)[1])()
    msg.ParseFromString(payload)
    return msg


async def outbox_events(db: asyncpg.Connection, aggregate_id: str, event_type: str) -> list[Any]:
    """The decoded outbox payloads of one type for one aggregate, oldest first."""
    rows = await db.fetch(
        "SELECT event_type, payload FROM outbox WHERE aggregate_id = $1 AND event_type = $2 ORDER BY id",
        aggregate_id,
        event_type,
    )
    return [decode_event(r["event_type"], r["payload"]) for r in rows]


async def event_types(db: asyncpg.Connection, aggregate_id: str) -> list[str]:
    rows = await db.fetch("SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY id", aggregate_id)
    return [r["event_type"].rsplit(".", 1)[1] for r in rows]
