"""What the tool installs in the monolith (schema `erp_migration`, nothing in the application's
schema except triggers):

- change capture: AFTER INSERT/UPDATE/DELETE row triggers (and a TRUNCATE statement trigger) on
  every table a service takes over, writing (table, op, primary key, row json, old row json,
  transaction id, seq) into `erp_migration.erp_changes`;
- cutover: BEFORE INSERT/UPDATE/DELETE/TRUNCATE statement triggers that refuse every write to
  the tables of a service that owns them now.

The capture function is SECURITY INVOKER and only appends; the tool reads the table and never
deletes from it (`sync --prune` is left to the operator once every service has caught up).
"""

from __future__ import annotations

import asyncpg

from services.ops.monolith_migration.common import STATE_SCHEMA, ident

CHANGES = f"{STATE_SCHEMA}.erp_changes"
CAPTURE_TRIGGER = "erp_capture"
TRUNCATE_TRIGGER = "erp_capture_truncate"
READONLY_TRIGGER = "erp_readonly"
# Creating a trigger waits for the writers in flight on its table and holds back new ones until the
# transaction ends: give up (and let the operator retry) rather than stall the monolith.
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s'"

INSTALL = (
    f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {CHANGES} (
        seq bigserial PRIMARY KEY,
        txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        table_name text NOT NULL,
        op text NOT NULL,
        pk jsonb,
        "row" jsonb,
        old jsonb,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )""",
    f"CREATE INDEX IF NOT EXISTS erp_changes_table_seq ON {CHANGES} (table_name, seq)",
    f"""CREATE OR REPLACE FUNCTION {STATE_SCHEMA}.capture() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        r jsonb;
        o jsonb;
        k jsonb := '{{}}'::jsonb;
        c text;
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            INSERT INTO {CHANGES} (table_name, op) VALUES (TG_TABLE_NAME, 'TRUNCATE');
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN r := to_jsonb(OLD); ELSE r := to_jsonb(NEW); END IF;
        IF TG_OP = 'UPDATE' THEN o := to_jsonb(OLD); END IF;
        FOREACH c IN ARRAY TG_ARGV LOOP
            k := k || jsonb_build_object(c, r -> c);
        END LOOP;
        INSERT INTO {CHANGES} (table_name, op, pk, "row", old) VALUES (TG_TABLE_NAME, TG_OP, k, r, o);
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION {STATE_SCHEMA}.refuse_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'table % is read-only in the monolith: the % service owns it since its cutover',
            TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'write through the service (erp migrate-monolith cutover ... --rollback undoes it)';
    END $$""",
)


async def installed(conn: asyncpg.Connection, schema: str) -> bool:
    """Change capture tables exist and at least one table of `schema` has the capture trigger."""
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", CHANGES):
        return False
    return bool(await conn.fetchval(_TRIGGERS_SQL + " LIMIT 1", schema, CAPTURE_TRIGGER))


_TRIGGERS_SQL = """
SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND t.tgname = $2
"""


async def tables_with(conn: asyncpg.Connection, schema: str, trigger: str) -> set[str]:
    return {r[0] for r in await conn.fetch(_TRIGGERS_SQL, schema, trigger)}


async def install(conn: asyncpg.Connection, schema: str, tables: dict[str, tuple[str, ...]]) -> list[str]:
    """Install capture on `tables` (name -> primary key columns); returns the tables newly covered."""
    added: list[str] = []
    async with conn.transaction():
        await conn.execute(LOCK_TIMEOUT)
        for statement in INSTALL:
            await conn.execute(statement)
        have = await tables_with(conn, schema, CAPTURE_TRIGGER)
        for table, key in sorted(tables.items()):
            if table in have:
                continue
            args = ", ".join("'" + k.replace("'", "''") + "'" for k in key)
            qualified = f"{ident(schema)}.{ident(table)}"
            await conn.execute(
                f"CREATE TRIGGER {CAPTURE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {qualified} "
                f"FOR EACH ROW EXECUTE FUNCTION {STATE_SCHEMA}.capture({args})"
            )
            await conn.execute(
                f"CREATE TRIGGER {TRUNCATE_TRIGGER} AFTER TRUNCATE ON {qualified} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {STATE_SCHEMA}.capture()"
            )
            added.append(table)
    return added


async def uninstall(conn: asyncpg.Connection, schema: str) -> list[str]:
    """Drop the capture triggers (the change table stays, with what it holds)."""
    async with conn.transaction():
        tables = sorted(await tables_with(conn, schema, CAPTURE_TRIGGER))
        for table in tables:
            qualified = f"{ident(schema)}.{ident(table)}"
            await conn.execute(f"DROP TRIGGER IF EXISTS {CAPTURE_TRIGGER} ON {qualified}")
            await conn.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {qualified}")
    return tables


async def make_read_only(conn: asyncpg.Connection, schema: str, tables: list[str], service: str) -> list[str]:
    """Refuse writes to `tables` (one transaction: all or none). Creating a trigger waits for the
    writers in flight on each table, so once this commits no write to them can still be pending."""
    added: list[str] = []
    async with conn.transaction():
        await conn.execute(LOCK_TIMEOUT)
        for statement in INSTALL:
            await conn.execute(statement)
        have = await tables_with(conn, schema, READONLY_TRIGGER)
        for table in tables:
            if table in have:
                continue
            literal = "'" + service.replace("'", "''") + "'"
            await conn.execute(
                f"CREATE TRIGGER {READONLY_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {ident(schema)}.{ident(table)} FOR EACH STATEMENT EXECUTE FUNCTION "
                f"{STATE_SCHEMA}.refuse_write({literal})"
            )
            added.append(table)
    return added


async def make_writable(conn: asyncpg.Connection, schema: str, tables: list[str]) -> list[str]:
    removed: list[str] = []
    async with conn.transaction():
        have = await tables_with(conn, schema, READONLY_TRIGGER)
        for table in tables:
            if table in have:
                await conn.execute(f"DROP TRIGGER {READONLY_TRIGGER} ON {ident(schema)}.{ident(table)}")
                removed.append(table)
    return removed
