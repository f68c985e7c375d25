"""Builders, SQL probes and event helpers for the inventory service tests.

Every builder makes unique values (uuid suffix): the database is shared by the whole session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from erp.inventory.v1 import events_pb2 as ev
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from erp.inventory.v1 import inventory_service_pb2_grpc as api_grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.type.decimal_pb2 import Decimal as PbDecimal
from nats.aio.client import Client
from nats.js.api import PubAck

from services.runtime.context import CallContext
from services.runtime.events import H_MSG_ID, build_headers, event_subject
from services.runtime.grpc_errors import field_violations
from services.runtime.settings import Settings
from tests.runtime.helpers import eventually

Stub = api_grpc.InventoryServiceStub
Code = grpc.StatusCode

# Tables a command may write; "nothing written" compares their row counts.
WRITE_TABLES = (
    "inventory_items",
    "stock_movements",
    "stock_reservations",
    "inventory_valuations",
    "event_store",
    "outbox",
)
ON_HAND_TYPES = ("receipt", "adjustment", "fulfillment", "damage", "theft")

USER_ID = str(uuid.uuid4())
CALLER = (("x-erp-user-id", USER_ID),)


class TravelClock:
    """Real time shifted by an offset the tests can move (the service's injected clock)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> Any:
        return self.now().date()

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def reset(self) -> None:
        self.offset = timedelta()


def tag() -> str:
    return uuid.uuid4().hex[:10]


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def new_id() -> str:
    return str(uuid.uuid4())


# ---- gRPC builders ---------------------------------------------------------------------------


def item_request(**overrides: Any) -> api.CreateInventoryItemRequest:
    values: dict[str, Any] = {
        "sku": f"SKU-{tag()}",
        "name": f"Widget {tag()}",
        "category": f"cat-{tag()}",
        "quantity_on_hand": 0,
        "reorder_point": 0,
        "reorder_quantity": 10,
        "unit_cost": dec("5.00"),
        "unit_price": dec("9.99"),
        "warehouse_location": "A-1-1",
    }
    values.update(overrides)
    return api.CreateInventoryItemRequest(**values)


async def create_item(stub: Stub, **overrides: Any) -> pb.InventoryItem:
    return (await stub.CreateInventoryItem(item_request(**overrides), metadata=CALLER)).inventory_item


async def get_item(stub: Stub, item_id: str) -> pb.InventoryItem:
    return (await stub.GetInventoryItem(api.GetInventoryItemRequest(id=item_id))).inventory_item


async def reserve(
    stub: Stub, item_id: str, quantity: int, *, order_id: str | None = None, ttl_s: int | None = None, **extra: Any
) -> api.ReserveStockResponse:
    request = api.ReserveStockRequest(item_id=item_id, quantity=quantity, order_id=order_id or new_id(), **extra)
    if ttl_s is not None:
        request.ttl.CopyFrom(Duration(seconds=ttl_s))
    return await stub.ReserveStock(request, metadata=CALLER)


async def adjust(
    stub: Stub, item_id: str, quantity: int, movement_type: int = pb.STOCK_MOVEMENT_TYPE_ADJUSTMENT, **extra: Any
) -> api.AdjustStockResponse:
    values: dict[str, Any] = {"reason": "count"}
    values.update(extra)
    request = api.AdjustStockRequest(item_id=item_id, movement_type=movement_type, quantity=quantity, **values)
    return await stub.AdjustStock(request, metadata=CALLER)


# ---- error assertions ------------------------------------------------------------------------


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def assert_violation(err: grpc.aio.AioRpcError, name: str) -> None:
    fields = [f for f, _ in field_violations(err)]
    assert any(f == name or f.endswith("." + name) for f in fields), (name, field_violations(err))


# ---- SQL ---------------------------------------------------------------------------------------


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in WRITE_TABLES)
    return dict(await db.fetchrow(sql))


async def item_row(db: asyncpg.Connection, item_id: str) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM inventory_items WHERE id = $1", uuid.UUID(item_id))
    return dict(row) if row else None


async def reservation_rows(db: asyncpg.Connection, item_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM stock_reservations WHERE item_id = $1 ORDER BY id", uuid.UUID(item_id))
    return [dict(r) for r in rows]


@asynccontextmanager
async def nothing_written(db: asyncpg.Connection, *, items: tuple[str, ...] = ()) -> AsyncIterator[None]:
    """No row added anywhere, and the named items and their reservations are unchanged."""

    async def snapshot() -> Any:
        return (
            await counts(db),
            [await item_row(db, i) for i in items],
            [await reservation_rows(db, i) for i in items],
        )

    before = await snapshot()
    yield
    assert await snapshot() == before


async def rejected(
    db: asyncpg.Connection,
    call: Callable[[], Awaitable[Any]],
    code: grpc.StatusCode,
    *,
    fields: tuple[str, ...] = (),
    items: tuple[str, ...] = (),
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code`, names `fields` as violations, and writes nothing.

    `call` is a factory: a grpc.aio call starts as soon as it is created."""
    async with nothing_written(db, items=items):
        err = await rpc_error(call(), code)
    for name in fields:
        assert_violation(err, name)
    return err


async def movements(db: asyncpg.Connection, item_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM stock_movements WHERE item_id = $1 ORDER BY moved_at, id", uuid.UUID(item_id))
    return [dict(r) for r in rows]


async def assert_ledger_invariants(db: asyncpg.Connection, item_id: str) -> None:
    """quantity_on_hand == Σ on-hand movements; reserved == Σ active reservations; each movement
    chains on the previous one."""
    row = await item_row(db, item_id)
    assert row is not None
    moved = await movements(db, item_id)
    assert all(m["movement_type"] in ON_HAND_TYPES for m in moved)
    assert row["quantity_on_hand"] == sum(m["quantity"] for m in moved)
    previous, pending = 0, sorted(moved, key=lambda m: m["moved_at"])
    while pending:  # movements of one unit of work share moved_at: follow the chain among them
        first = pending[0]["moved_at"]
        m = next((m for m in pending if m["moved_at"] == first and m["previous_quantity"] == previous), None)
        assert m is not None, (previous, moved)
        pending.remove(m)
        previous = m["new_quantity"]
    assert previous == row["quantity_on_hand"]
    active = await db.fetchval(
        "SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE item_id = $1 AND status = 'active'",
        uuid.UUID(item_id),
    )
    assert row["quantity_reserved"] == active
    assert row["quantity_available"] == row["quantity_on_hand"] - row["quantity_reserved"] >= 0


# ---- events ----------------------------------------------------------------------------------


def decode(event_type: str, payload: bytes) -> Message:
    cls = getattr(ev, event_type.rsplit(".", 1)[1])
    msg = cls()
    msg.ParseFromString(payload)
    return msg


async def events(db: asyncpg.Connection, aggregate_id: str, name: str | None = None) -> list[Any]:
    """Decoded outbox events of one aggregate, oldest first, optionally of one type (short name)."""
    rows = await db.fetch("SELECT event_type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id", aggregate_id)
    out = [decode(r["event_type"], r["payload"]) for r in rows]
    return [m for m in out if name is None or m.DESCRIPTOR.name == name]


async def event_names(db: asyncpg.Connection, aggregate_id: str) -> list[str]:
    return [m.DESCRIPTOR.name for m in await events(db, aggregate_id)]


async def publish(
    nats_client: Client,
    settings: Settings,
    message: Message,
    *,
    event_id: uuid.UUID | None = None,
    msg_id: str | None = None,
) -> tuple[uuid.UUID, PubAck]:
    """Publish another service's event the way its outbox relay would (CloudEvents headers)."""
    event_id = event_id or uuid.uuid4()
    event_type = message.DESCRIPTOR.full_name
    headers = build_headers(
        event_id=event_id,
        event_type=event_type,
        aggregate_id=str(uuid.uuid4()),
        ctx=CallContext(correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    if msg_id is not None:
        headers[H_MSG_ID] = msg_id
    ack = await nats_client.jetstream().publish(
        event_subject(settings.subject_root, event_type), message.SerializeToString(), headers=headers
    )
    return event_id, ack


async def processed(db: asyncpg.Connection, event_id: uuid.UUID) -> Any:
    """Wait until the consumer applied the event; returns its processed_events.result."""

    async def check() -> Any:
        return await db.fetchrow("SELECT result::text AS result FROM processed_events WHERE event_id = $1", event_id)

    row = await eventually(check, timeout_s=15)
    return row["result"]
