"""`erp reconcile`: what is inconsistent across services after one database went back in time.

- Dangling references: for every cross-service reference of the contracts (refs.py), the
  distinct values of the referring column that the owner's table no longer has (checked in
  batches of 10,000 with one query each, never one query per id).
- Caches ahead or behind their owner: rows missing from the cache, extra rows (the owner no
  longer has the entity), rows whose version is ahead of or behind the owner's.
- `--fix` rebuilds each cache directly from its owner's database with SQL, in one transaction:
  rows are replaced whatever their version (a cache AHEAD of a restored owner must go back, which
  the version-guarded RebuildEmployeeCache RPC would refuse) and extra rows are deleted.
  Dangling references are only reported: they need a business decision (re-create the entity,
  or correct the referring record).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.ops.refs import Reference, cross_service_references

BATCH = 10_000


@dataclass(frozen=True)
class CacheSpec:
    """A table of one service copying rows of another's (kept current from events)."""

    service: str
    table: str
    key: str
    version: str
    owner: str
    owner_table: str
    owner_key: str
    owner_version: str
    owner_rows_sql: str  # the owner's rows, with the cache's column names

    @property
    def name(self) -> str:
        return f"{self.service}.{self.table}"


CACHES = (
    CacheSpec(
        service="payroll",
        table="employee_cache",
        key="employee_id",
        version="employee_version",
        owner="employee",
        owner_table="employees",
        owner_key="id",
        owner_version="version",
        owner_rows_sql=(
            "SELECT e.id AS employee_id, e.first_name, e.last_name, e.email, e.salary, d.name AS department, "
            "e.department_id, e.status, e.hire_date, e.termination_date, e.version AS employee_version, "
            "now() AS last_synced_at FROM employees e LEFT JOIN departments d ON d.id = e.department_id"
        ),
    ),
)


@dataclass
class Dangling:
    reference: Reference
    missing: list[str]
    referring_rows: int


@dataclass
class CacheDrift:
    cache: CacheSpec
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    ahead: list[str] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)
    rebuilt: int | None = None

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.ahead or self.behind)


@dataclass
class Report:
    dangling: list[Dangling] = field(default_factory=list)
    caches: list[CacheDrift] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.dangling and all(c.clean or c.rebuilt is not None for c in self.caches)


async def column_type(conn: asyncpg.Connection, table: str, column: str) -> str | None:
    value = await conn.fetchval(
        "SELECT udt_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = $1 AND column_name = $2",
        table,
        column,
    )
    return str(value) if value is not None else None


async def find_dangling(ref: Reference, source: asyncpg.Connection, owner: asyncpg.Connection) -> Dangling | str:
    """The reference's values missing from the owner; a string says why it was not checked."""
    if await column_type(source, ref.table, ref.column) is None:
        return f"{ref}: {ref.service}_db has no column {ref.table}.{ref.column}"
    target_type = await column_type(owner, ref.target_table, ref.target_column)
    if target_type is None:
        return f"{ref}: {ref.target_service}_db has no column {ref.target_table}.{ref.target_column}"
    col, tcol = f'"{ref.column}"', f'"{ref.target_column}"'
    values = [
        r[0] for r in await source.fetch(f'SELECT DISTINCT {col}::text FROM "{ref.table}" WHERE {col} IS NOT NULL')
    ]
    missing: list[str] = []
    for i in range(0, len(values), BATCH):
        chunk = values[i : i + BATCH]
        rows = await owner.fetch(
            f'SELECT v FROM unnest($1::text[]) AS v EXCEPT SELECT {tcol}::text FROM "{ref.target_table}" '
            f'WHERE {tcol} = ANY($1::text[]::"{target_type}"[])',
            chunk,
        )
        missing.extend(sorted(r[0] for r in rows))
    if not missing:
        return Dangling(ref, [], 0)
    count = await source.fetchval(f'SELECT count(*) FROM "{ref.table}" WHERE {col}::text = ANY($1::text[])', missing)
    return Dangling(ref, missing, int(count))


async def cache_drift(spec: CacheSpec, cache: asyncpg.Connection, owner: asyncpg.Connection) -> CacheDrift:
    have = {
        str(r[0]): int(r[1]) for r in await cache.fetch(f'SELECT "{spec.key}", "{spec.version}" FROM "{spec.table}"')
    }
    truth = {
        str(r[0]): int(r[1])
        for r in await owner.fetch(f'SELECT "{spec.owner_key}", "{spec.owner_version}" FROM "{spec.owner_table}"')
    }
    drift = CacheDrift(spec)
    drift.missing = sorted(set(truth) - set(have))
    drift.extra = sorted(set(have) - set(truth))
    common = set(have) & set(truth)
    drift.ahead = sorted(k for k in common if have[k] > truth[k])
    drift.behind = sorted(k for k in common if have[k] < truth[k])
    return drift


async def rebuild_cache(spec: CacheSpec, cache: asyncpg.Connection, owner: asyncpg.Connection) -> int:
    """Replace the cache's content by the owner's rows (one transaction); returns rows written."""
    rows = await owner.fetch(spec.owner_rows_sql)
    if not rows:
        await cache.execute(f'DELETE FROM "{spec.table}"')
        return 0
    columns = list(rows[0].keys())
    names = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c != spec.key)
    async with cache.transaction():
        await cache.execute(f'CREATE TEMP TABLE erp_rebuild (LIKE "{spec.table}") ON COMMIT DROP')
        await cache.copy_records_to_table("erp_rebuild", records=[tuple(r) for r in rows], columns=columns)
        await cache.execute(
            f'DELETE FROM "{spec.table}" c WHERE NOT EXISTS '
            f'(SELECT 1 FROM erp_rebuild r WHERE r."{spec.key}" = c."{spec.key}")'
        )
        await cache.execute(
            f'INSERT INTO "{spec.table}" ({names}) SELECT {names} FROM erp_rebuild '
            f'ON CONFLICT ("{spec.key}") DO UPDATE SET {updates}'
        )
    return len(rows)


async def reconcile(urls: dict[str, str], *, fix: bool = False, **connect: Any) -> Report:
    """Check every reference and cache between the services in `urls` (service -> libpq URL)."""
    report = Report()
    async with _connections(urls, report, connect) as conns:
        for ref in cross_service_references():
            source, owner = conns.get(ref.service), conns.get(ref.target_service)
            if source is None or owner is None:
                continue
            found = await find_dangling(ref, source, owner)
            if isinstance(found, str):
                report.skipped.append(found)
            elif found.missing:
                report.dangling.append(found)
        for spec in CACHES:
            cache, owner = conns.get(spec.service), conns.get(spec.owner)
            if cache is None or owner is None:
                continue
            if await column_type(cache, spec.table, spec.key) is None:
                report.skipped.append(f"cache {spec.name}: table not present")
                continue
            drift = await cache_drift(spec, cache, owner)
            if fix and not drift.clean:
                drift.rebuilt = await rebuild_cache(spec, cache, owner)
            report.caches.append(drift)
    return report


@contextlib.asynccontextmanager
async def _connections(
    urls: dict[str, str], report: Report, connect: dict[str, Any]
) -> AsyncIterator[dict[str, asyncpg.Connection]]:
    conns: dict[str, asyncpg.Connection] = {}
    try:
        for service, url in urls.items():
            try:
                conns[service] = await asyncpg.connect(url, timeout=10, **connect)
            except (OSError, asyncpg.PostgresError) as exc:
                report.skipped.append(f"{service}: database not reachable ({type(exc).__name__})")
        yield conns
    finally:
        for conn in conns.values():
            await conn.close()
