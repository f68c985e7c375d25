"""Both schemas as data: the target tables each service's `tables.py` declares (ownership = the
service whose metadata defines the table) and the source tables read from the monolith's catalog."""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass

import asyncpg
from sqlalchemy import Column, MetaData
from sqlalchemy.dialects import postgresql

from services.runtime.migrations import migrated_services
from services.runtime.tables import EVENT_STORE, OUTBOX, PROCESSED_EVENTS

RUNTIME_TABLES = frozenset({EVENT_STORE.name, PROCESSED_EVENTS.name, OUTBOX.name})
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_BASE_TYPES = {
    "varchar": "text",
    "character varying": "text",
    "char": "text",
    "character": "text",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "datetime": "timestamp",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "bool": "boolean",
    "decimal": "numeric",
}


def base_type(sql_type: str) -> str:
    """The type without modifiers, as a cast target: `VARCHAR(100)` -> `text`, `NUMERIC(10, 2)` ->
    `numeric`. Casting to the base type never truncates or rounds: the target column's own
    modifiers then refuse (or round, which verify sees) what does not fit."""
    t = re.sub(r"\(.*?\)", "", sql_type).strip().lower()
    t = re.sub(r"\s+", " ", t)
    return _BASE_TYPES.get(t, t)


@dataclass(frozen=True)
class TargetColumn:
    name: str
    sql_type: str
    base_type: str
    nullable: bool
    default: str | None
    computed: bool
    comment: str | None
    primary_key: bool


@dataclass(frozen=True)
class TargetForeignKey:
    column: str
    ref_table: str
    ref_column: str
    use_alter: bool


@dataclass(frozen=True)
class TargetTable:
    service: str
    name: str
    columns: tuple[TargetColumn, ...]
    foreign_keys: tuple[TargetForeignKey, ...]

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)

    def column(self, name: str) -> TargetColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def _default_sql(column: Column[object]) -> str | None:
    default = column.server_default
    if default is None:
        return None
    arg = getattr(default, "arg", None)
    if arg is None:
        return None
    if isinstance(arg, str):
        return arg
    text = getattr(arg, "text", None)
    if isinstance(text, str):
        return text
    return str(arg.compile(dialect=_DIALECT))


def _target_table(service: str, table: object) -> TargetTable:
    from sqlalchemy import Table

    assert isinstance(table, Table)
    columns = []
    for col in table.columns:
        sql_type = str(col.type.compile(dialect=_DIALECT))
        columns.append(
            TargetColumn(
                name=col.name,
                sql_type=sql_type,
                base_type=base_type(sql_type),
                nullable=bool(col.nullable),
                default=_default_sql(col),
                computed=col.computed is not None,
                comment=col.comment,
                primary_key=bool(col.primary_key),
            )
        )
    fks = []
    for fk in table.foreign_keys:
        fks.append(
            TargetForeignKey(
                column=fk.parent.name,
                ref_table=fk.column.table.name,
                ref_column=fk.column.name,
                use_alter=bool(fk.use_alter or (fk.constraint is not None and fk.constraint.use_alter)),
            )
        )
    return TargetTable(service, table.name, tuple(columns), tuple(sorted(fks, key=lambda f: f.column)))


def service_metadata(service: str) -> MetaData:
    module = importlib.import_module(f"services.{service}.tables")
    metadata = module.Base.metadata
    assert isinstance(metadata, MetaData)
    return metadata


@functools.cache
def target_tables() -> dict[str, dict[str, TargetTable]]:
    """service -> table -> its declared shape (runtime tables and views excluded)."""
    out: dict[str, dict[str, TargetTable]] = {}
    for service in migrated_services():
        tables = {}
        for name, table in service_metadata(service).tables.items():
            if name in RUNTIME_TABLES or table.info.get("is_view"):
                continue
            tables[name] = _target_table(service, table)
        out[service] = tables
    return out


def owners() -> dict[str, list[str]]:
    """table name -> the services whose tables.py defines it (normally exactly one)."""
    found: dict[str, list[str]] = {}
    for service, tables in target_tables().items():
        for name in tables:
            found.setdefault(name, []).append(service)
    return found


# ---- the source catalog ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceColumn:
    name: str
    sql_type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...]
    estimated_rows: int

    def column(self, name: str) -> SourceColumn | None:
        return next((c for c in self.columns if c.name == name), None)


async def source_tables(conn: asyncpg.Connection, schema: str) -> dict[str, SourceTable]:
    rows = await conn.fetch(
        """
        SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS sql_type,
               a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_sql,
               greatest(c.reltuples, 0)::bigint AS estimated_rows
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
        ORDER BY c.relname, a.attnum
        """,
        schema,
    )
    pks = await conn.fetch(
        """
        SELECT c.relname AS table_name, array_agg(a.attname ORDER BY k.ord) AS columns
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE n.nspname = $1 AND i.indisprimary
        GROUP BY c.relname
        """,
        schema,
    )
    keys = {r["table_name"]: tuple(r["columns"]) for r in pks}
    columns: dict[str, list[SourceColumn]] = {}
    estimates: dict[str, int] = {}
    for r in rows:
        columns.setdefault(r["table_name"], []).append(
            SourceColumn(r["column_name"], r["sql_type"], r["not_null"], r["default_sql"])
        )
        estimates[r["table_name"]] = int(r["estimated_rows"])
    return {
        name: SourceTable(name, tuple(cols), keys.get(name, ()), estimates.get(name, 0))
        for name, cols in columns.items()
    }


# The spec's Phase 1 query, qualified by schema (constraint names are only unique per schema).
FOREIGN_KEYS_SQL = """
SELECT
    tc.constraint_name,
    tc.table_name,
    kcu.column_name,
    ccu.table_name AS foreign_table_name,
    ccu.column_name AS foreign_column_name
FROM information_schema.table_constraints AS tc
JOIN information_schema.key_column_usage AS kcu
  ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema
JOIN information_schema.constraint_column_usage AS ccu
  ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.table_schema
WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = $1
ORDER BY tc.table_name, kcu.column_name, tc.constraint_name
"""


@dataclass(frozen=True)
class SourceForeignKey:
    constraint: str
    table: str
    column: str
    ref_table: str
    ref_column: str


async def source_foreign_keys(conn: asyncpg.Connection, schema: str) -> list[SourceForeignKey]:
    rows = await conn.fetch(FOREIGN_KEYS_SQL, schema)
    return [
        SourceForeignKey(
            r["constraint_name"], r["table_name"], r["column_name"], r["foreign_table_name"], r["foreign_column_name"]
        )
        for r in rows
    ]
