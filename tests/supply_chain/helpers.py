"""Builders, error assertions and SQL probes for the supply chain tests.

Every builder makes unique values (uuid suffix): the database is shared by the whole session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import grpc
import pytest
from erp.supply_chain.v1 import events_pb2 as ev
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from erp.supply_chain.v1 import supply_chain_service_pb2_grpc as api_grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.grpc_errors import field_violations

Stub = api_grpc.SupplyChainServiceStub
Code = grpc.StatusCode

# Tables a command may write; "nothing written" compares their row counts (and some contents).
WRITE_TABLES = (
    "shipments",
    "shipment_items",
    "tracking_history",
    "carrier_performance",
    "shipment_number_sequences",
    "event_store",
    "outbox",
)


class PinnableClock:
    """Real time, or a fixed instant while pinned (the service's injected clock)."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def now(self) -> datetime:
        return self.pinned or datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()

    def pin(self, at: datetime) -> None:
        self.pinned = at

    def reset(self) -> None:
        self.pinned = None


def tag() -> str:
    return uuid.uuid4().hex[:10]


def new_id() -> str:
    return str(uuid.uuid4())


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def day(year: int, month: int, d: int) -> Date:
    return Date(year=year, month=month, day=d)


def ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


def at(year: int, month: int, d: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, d, hour, minute, tzinfo=UTC)


# ---- builders ----------------------------------------------------------------------------------


def item(sku: str | None = None, quantity: int = 2, weight: str = "1.50", **kw: Any) -> api.ShipmentItemInput:
    return api.ShipmentItemInput(
        sku=sku or f"SKU-{tag()}", description=kw.pop("description", "Widget"), quantity=quantity, weight=dec(weight)
    )


def shipment_request(**overrides: Any) -> api.CreateShipmentRequest:
    values: dict[str, Any] = {
        "order_id": new_id(),
        "shipment_type": pb.SHIPMENT_TYPE_OUTBOUND,
        "carrier": f"Carrier {tag()}",
        "origin_city": "Memphis",
        "origin_state": "TN",
        "destination_address": "1 Main St",
        "destination_city": "Austin",
        "destination_state": "TX",
        "destination_zip_code": "78701",
        "estimated_delivery_date": day(2025, 3, 7),
        "items": [item()],
    }
    values.update(overrides)
    return api.CreateShipmentRequest(**values)


async def create(stub: Stub, **overrides: Any) -> pb.Shipment:
    return (await stub.CreateShipment(shipment_request(**overrides))).shipment


async def dispatch(stub: Stub, s: pb.Shipment, when: datetime | None = None, **kw: Any) -> pb.Shipment:
    req = api.DispatchShipmentRequest(id=s.id, version=s.version, **kw)
    if not s.tracking_number and "tracking_number" not in kw:
        req.tracking_number = f"1Z{tag()}"
    if when is not None:
        req.dispatched_at.CopyFrom(ts(when))
    return (await stub.DispatchShipment(req)).shipment


async def deliver(stub: Stub, s: pb.Shipment, when: datetime | None = None, **kw: Any) -> pb.Shipment:
    req = api.DeliverShipmentRequest(id=s.id, version=s.version, **kw)
    if when is not None:
        req.delivered_at.CopyFrom(ts(when))
    return (await stub.DeliverShipment(req)).shipment


async def track(
    stub: Stub, shipment_id: str, status: int, when: datetime | None = None, location: str = "", notes: str = ""
) -> pb.TrackingEvent:
    req = api.RecordTrackingEventRequest(shipment_id=shipment_id, status=status, location=location, notes=notes)
    if when is not None:
        req.event_time.CopyFrom(ts(when))
    return (await stub.RecordTrackingEvent(req)).tracking_event


async def get(stub: Stub, shipment_id: str) -> pb.Shipment:
    return (await stub.GetShipment(api.GetShipmentRequest(id=shipment_id))).shipment


async def history(stub: Stub, shipment_id: str) -> list[pb.TrackingEvent]:
    req = api.ListTrackingHistoryRequest(shipment_id=shipment_id, page_size=1000)
    return list((await stub.ListTrackingHistory(req)).tracking_events)


# ---- error assertions --------------------------------------------------------------------------


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


# ---- SQL -----------------------------------------------------------------------------------------


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in WRITE_TABLES)
    return dict(await db.fetchrow(sql))


async def _snapshot(db: asyncpg.Connection, shipments: tuple[str, ...]) -> Any:
    return (
        await counts(db),
        [dict(r) for r in await db.fetch("SELECT * FROM shipment_number_sequences ORDER BY year")],
        [dict(r) for r in await db.fetch("SELECT * FROM carrier_performance ORDER BY id")],
        [
            dict(r)
            for r in await db.fetch(
                "SELECT * FROM shipments WHERE id = ANY($1::uuid[]) ORDER BY id", [uuid.UUID(s) for s in shipments]
            )
        ],
    )


@asynccontextmanager
async def nothing_written(db: asyncpg.Connection, *, shipments: tuple[str, ...] = ()) -> AsyncIterator[None]:
    """No row added anywhere; the named shipments, the sequences and the carrier metrics unchanged."""
    before = await _snapshot(db, shipments)
    yield
    assert await _snapshot(db, shipments) == before


async def rejected(
    db: asyncpg.Connection,
    call: Callable[[], Awaitable[Any]],
    code: grpc.StatusCode,
    *,
    fields: tuple[str, ...] = (),
    shipments: tuple[str, ...] = (),
    message: str = "",
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code` (naming exactly `fields` when given, mentioning `message`) and
    writes nothing. `call` is a factory: a grpc.aio call starts when created."""
    async with nothing_written(db, shipments=shipments):
        err = await rpc_error(call(), code)
    if fields:
        assert sorted(set(violation_fields(err))) == sorted(fields), field_violations(err)
    assert message in (err.details() or ""), err.details()
    return err


def decode_event(event_type: str, payload: bytes) -> Message:
    msg: Message = getattr(ev, event_type.rsplit(".", 1)[1])()
    msg.ParseFromString(payload)
    return msg


async def outbox_events(db: asyncpg.Connection, shipment_id: str, name: str | None = None) -> list[Any]:
    """Decoded outbox events of one shipment, oldest first, optionally of one type (short name)."""
    rows = await db.fetch("SELECT event_type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id", shipment_id)
    out = [decode_event(r["event_type"], r["payload"]) for r in rows]
    return [m for m in out if name is None or m.DESCRIPTOR.name == name]


async def event_names(db: asyncpg.Connection, shipment_id: str) -> list[str]:
    return [m.DESCRIPTOR.name for m in await outbox_events(db, shipment_id)]
