"""Valuation snapshots on demand and their list."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
from erp.inventory.v1 import inventory_service_pb2 as api
from google.type.date_pb2 import Date

from tests.inventory.helpers import Code, Stub, adjust, create_item, dec, rejected, reserve, tag


async def test_snapshot_values_stock_by_category(stub: Stub, db: asyncpg.Connection) -> None:
    tools, bolts = f"tools-{tag()}", f"bolts-{tag()}"
    await create_item(stub, category=tools, quantity_on_hand=3, unit_cost=dec("10.50"))
    hammer = await create_item(stub, category=tools, quantity_on_hand=2, unit_cost=dec("7.25"))
    await create_item(stub, category=bolts, quantity_on_hand=1000, unit_cost=dec("0.03"))
    await create_item(stub, category=bolts, quantity_on_hand=0, unit_cost=dec("99.00"))  # no stock: not counted
    await reserve(stub, hammer.id, 2)  # reserved units are still on hand and valued
    await adjust(stub, hammer.id, 1)

    snapshot = (
        await stub.CreateValuationSnapshot(
            api.CreateValuationSnapshotRequest(snapshot_date=Date(year=2031, month=3, day=31))
        )
    ).valuation
    mine = {c.category: c for c in snapshot.by_category if c.category in (tools, bolts)}
    assert (mine[tools].item_count, mine[tools].total_quantity, mine[tools].total_value.value) == (2, 6, "53.25")
    assert (mine[bolts].item_count, mine[bolts].total_quantity, mine[bolts].total_value.value) == (1, 1000, "30.00")
    categories = [c.category for c in snapshot.by_category]
    assert categories == sorted(categories)
    assert snapshot.total_items == sum(c.item_count for c in snapshot.by_category)
    assert snapshot.total_quantity == sum(c.total_quantity for c in snapshot.by_category)
    assert Decimal(snapshot.total_value.value) == sum(Decimal(c.total_value.value) for c in snapshot.by_category)
    assert (snapshot.snapshot_date.year, snapshot.snapshot_date.month, snapshot.snapshot_date.day) == (2031, 3, 31)

    row = await db.fetchrow(
        "SELECT snapshot_date, total_value, by_category::text AS by_category FROM inventory_valuations WHERE id = $1",
        uuid.UUID(snapshot.id),
    )
    assert row["snapshot_date"] == date(2031, 3, 31)
    assert row["total_value"] == Decimal(snapshot.total_value.value)
    stored = {c["category"]: c for c in json.loads(row["by_category"])}
    assert stored[tools] == {"category": tools, "item_count": 2, "total_quantity": 6, "total_value": "53.25"}
    # The whole database agrees: Σ on hand x unit cost over every item.
    expected = await db.fetchval("SELECT coalesce(sum(quantity_on_hand * unit_cost), 0) FROM inventory_items")
    assert Decimal(snapshot.total_value.value) == expected


async def test_list_snapshots(stub: Stub, db: asyncpg.Connection) -> None:
    days = [Date(year=2040, month=1, day=d) for d in (5, 6, 7)]
    made = [
        (await stub.CreateValuationSnapshot(api.CreateValuationSnapshotRequest(snapshot_date=d))).valuation
        for d in days
    ]
    listed = await stub.ListValuationSnapshots(api.ListValuationSnapshotsRequest(start_date=days[0], end_date=days[1]))
    assert [v.id for v in listed.valuations] == [made[1].id, made[0].id]  # newest first
    page = await stub.ListValuationSnapshots(api.ListValuationSnapshotsRequest(start_date=days[0], page_size=2))
    rest = await stub.ListValuationSnapshots(
        api.ListValuationSnapshotsRequest(start_date=days[0], page_size=2, page_token=page.next_page_token)
    )
    assert [v.id for v in page.valuations] + [v.id for v in rest.valuations] == [m.id for m in reversed(made)]
    today = (await stub.CreateValuationSnapshot(api.CreateValuationSnapshotRequest())).valuation
    now = datetime.now(UTC).date()
    assert today.snapshot_date == Date(year=now.year, month=now.month, day=now.day)


async def test_snapshot_rejections(stub: Stub, db: asyncpg.Connection) -> None:
    bad_day = Date(year=2030, month=2, day=30)
    await rejected(
        db,
        lambda: stub.CreateValuationSnapshot(api.CreateValuationSnapshotRequest(snapshot_date=bad_day)),
        Code.INVALID_ARGUMENT,
        fields=("snapshot_date",),
    )
    await rejected(
        db,
        lambda: stub.ListValuationSnapshots(
            api.ListValuationSnapshotsRequest(
                start_date=Date(year=2030, month=2, day=2), end_date=Date(year=2030, month=2, day=1)
            )
        ),
        Code.INVALID_ARGUMENT,
        fields=("end_date",),
    )
