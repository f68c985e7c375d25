"""Concurrent calls: numbers stay gap-free, a burst of identical carrier updates is stored once,
and concurrent deliveries of one carrier on one day all count."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from erp.supply_chain.v1 import supply_chain_pb2 as pb

from tests.supply_chain.helpers import PinnableClock, Stub, at, create, deliver, dispatch, history, tag, track


async def test_concurrent_creates_take_consecutive_numbers(stub: Stub, clock: PinnableClock) -> None:
    clock.pin(datetime(2043, 2, 1, tzinfo=UTC))
    made = await asyncio.gather(*(create(stub) for _ in range(20)))
    assert sorted(s.shipment_number for s in made) == [f"SH-2043-{n:06d}" for n in range(1, 21)]


async def test_a_burst_of_identical_updates_is_one_entry(stub: Stub, db: asyncpg.Connection) -> None:
    s = await dispatch(stub, await create(stub), at(2025, 3, 3, 8))
    same = await asyncio.gather(
        *(track(stub, s.id, pb.TRACKING_STATUS_DELIVERED, at(2025, 3, 6, 15), "Austin, TX") for _ in range(10))
    )
    assert len({e.id for e in same}) == 1
    assert [e.status for e in await history(stub, s.id)].count(pb.TRACKING_STATUS_DELIVERED) == 1
    delivered = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND event_type = 'erp.supply_chain.v1.ShipmentDelivered'",
        s.id,
    )
    assert delivered == 1


async def test_concurrent_deliveries_of_a_carrier_all_count(stub: Stub, db: asyncpg.Connection) -> None:
    carrier = f"Carrier {tag()}"
    moving = [await dispatch(stub, await create(stub, carrier=carrier), at(2025, 4, 1, 8)) for _ in range(8)]
    await asyncio.gather(*(deliver(stub, s, at(2025, 4, 3, 9)) for s in moving))
    row = await db.fetchrow("SELECT * FROM carrier_performance WHERE carrier = $1", carrier)
    assert (row["total_shipments"], str(row["average_delivery_days"])) == (8, "2.00")
