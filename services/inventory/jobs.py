"""Inventory's background jobs: expiring reservations and the periodic valuation snapshot.

Settings (`ERP_INVENTORY_*`, read once when the service is wired):
- ERP_INVENTORY_EXPIRY_INTERVAL_S (default 30): how often due reservations are expired.
- ERP_INVENTORY_VALUATION_INTERVAL_S (default 86400, daily): a snapshot is taken when none
  (automatic or on demand) was created within the interval; checked every min(interval, 300) s,
  so restarts do not add snapshots.
Each tick runs under `leader_lock`, so with several replicas one of them does the work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from services.inventory import reservations, valuation
from services.runtime.jobs import leader_lock, periodic
from services.runtime.service import BackgroundJob, ServiceDeps

EXPIRY_BATCH = 500


@dataclass(frozen=True)
class InventoryJobsConfig:
    expiry_interval_s: int = 30
    valuation_interval_s: int = 86_400

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InventoryJobsConfig:
        env = os.environ if environ is None else environ
        return cls(
            expiry_interval_s=_seconds(env, "ERP_INVENTORY_EXPIRY_INTERVAL_S", cls.expiry_interval_s),
            valuation_interval_s=_seconds(env, "ERP_INVENTORY_VALUATION_INTERVAL_S", cls.valuation_interval_s),
        )


def _seconds(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value <= 0:
        raise ValueError(f"{key} must be a positive number of seconds")
    return value


async def expire_reservations(deps: ServiceDeps) -> int:
    """Expire every reservation due now, in units of work of at most EXPIRY_BATCH."""
    total = 0
    async with leader_lock(deps.db, "expire-reservations") as leader:
        if not leader:
            return 0
        while True:
            async with deps.db.unit_of_work() as uow:
                now = deps.clock.now()
                expired = await reservations.expire_due(uow, now, now, limit=EXPIRY_BATCH)
            total += len(expired)
            if len(expired) < EXPIRY_BATCH:
                return total


async def snapshot_if_due(deps: ServiceDeps, interval: timedelta) -> bool:
    """Take a valuation snapshot when the newest one is older than `interval` (or none exists)."""
    async with leader_lock(deps.db, "valuation-snapshot") as leader:
        if not leader:
            return False
        async with deps.db.unit_of_work() as uow:
            now = deps.clock.now()
            latest = await valuation.latest_created_at(uow)
            if latest is not None and now - latest < interval:
                return False
            await valuation.take_snapshot(uow, deps.clock.today(), now)
        return True


def background(deps: ServiceDeps, config: InventoryJobsConfig | None = None) -> list[BackgroundJob]:
    cfg = config or InventoryJobsConfig.from_env()
    interval = timedelta(seconds=cfg.valuation_interval_s)

    async def expire() -> None:
        await expire_reservations(deps)

    async def snapshot() -> None:
        await snapshot_if_due(deps, interval)

    return [
        periodic(cfg.expiry_interval_s, expire, "inventory-expire-reservations"),
        periodic(min(cfg.valuation_interval_s, 300), snapshot, "inventory-valuation-snapshot"),
    ]
