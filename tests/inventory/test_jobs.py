"""The background jobs (reservation expiry, valuation snapshots) run against the session's service."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from services.inventory.jobs import InventoryJobsConfig, background, snapshot_if_due
from services.runtime.service import RunningService
from tests.inventory.helpers import Stub, TravelClock, create_item, get_item, reserve
from tests.runtime.helpers import eventually


async def test_jobs_expire_reservations_and_take_snapshots(
    stub: Stub, db: asyncpg.Connection, inventory_service: RunningService, clock: TravelClock
) -> None:
    item = await create_item(stub, quantity_on_hand=5)
    r = (await reserve(stub, item.id, 5, ttl_s=60)).reservation
    clock.advance(timedelta(days=2))  # past the expiry, and past any snapshot's daily interval
    snapshots = await db.fetchval("SELECT count(*) FROM inventory_valuations")
    config = InventoryJobsConfig(expiry_interval_s=1, valuation_interval_s=86_400)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(job(stop)) for job in background(inventory_service.deps, config)]
    try:

        async def expired() -> bool:
            status = await db.fetchval("SELECT status FROM stock_reservations WHERE id = $1", uuid.UUID(r.id))
            return status == "expired"

        await eventually(expired, timeout_s=10)
        await eventually(
            lambda: _more_than(db, snapshots),
            timeout_s=10,
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert (await get_item(stub, item.id)).quantity_available == 5
    # One automatic snapshot per interval: a second check within it takes none.
    assert await db.fetchval("SELECT count(*) FROM inventory_valuations") == snapshots + 1
    assert not await snapshot_if_due(inventory_service.deps, timedelta(days=1))
    clock.advance(timedelta(days=1, seconds=1))
    assert await snapshot_if_due(inventory_service.deps, timedelta(days=1))


async def _more_than(db: asyncpg.Connection, count: int) -> bool:
    return bool(await db.fetchval("SELECT count(*) FROM inventory_valuations") > count)


def test_jobs_config_from_env() -> None:
    assert InventoryJobsConfig.from_env({}) == InventoryJobsConfig(30, 86_400)
    config = InventoryJobsConfig.from_env(
        {"ERP_INVENTORY_EXPIRY_INTERVAL_S": "5", "ERP_INVENTORY_VALUATION_INTERVAL_S": "3600"}
    )
    assert config == InventoryJobsConfig(5, 3600)
    with pytest.raises(ValueError):
        InventoryJobsConfig.from_env({"ERP_INVENTORY_EXPIRY_INTERVAL_S": "0"})
