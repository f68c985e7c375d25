"""`erp rotate-key`: re-encrypt every sensitive value that is not under the active key.

For each encrypted column (`ENCRYPTED_TABLES`), a value under another key id is decrypted with that
key and encrypted with the active one (`ERP_PII_ACTIVE_KEY`), and a plaintext value (a row written
before encryption, or bulk-loaded past the API) is encrypted. The work goes in batches of rows in
key order, each batch one transaction holding its rows `FOR UPDATE`, so the services keep running
(a row a service changes meanwhile is read again after its commit). Versions and update times do
not change: the values do not. Idempotent: a second run finds nothing to do. A value that cannot
be decrypted (its key is not configured, or it fails authentication) is left as is and reported by
place, never by value; the command then exits 1.

Rotating to a new key:
  1. give the services ERP_PII_KEYS=<old>:<key>,<new>:<key> and ERP_PII_ACTIVE_KEY=<new> and restart
     them: new writes use the new key, old values still decrypt;
  2. `erp rotate-key` with the same two variables;
  3. once it reports nothing left under the old key, drop that key from ERP_PII_KEYS and restart.
Without ERP_PII_KEYS (development) the key is the development key in <data dir>/pii-dev.key.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.employee import pii as employee_pii
from services.runtime.crypto import PREFIX, Binding, DecryptionError, KeyRing, is_ciphertext, load_keyring
from services.runtime.settings import Settings, to_libpq_url

DEFAULT_BATCH_SIZE = 500
PLAINTEXT = "(plaintext)"


@dataclass(frozen=True)
class EncryptedTable:
    """Columns of one table holding `crypto` ciphertext bound to the row's uuid key."""

    service: str
    table: str
    columns: tuple[str, ...]
    key_column: str = "id"


ENCRYPTED_TABLES: tuple[EncryptedTable, ...] = (
    EncryptedTable("employee", employee_pii.TABLE, employee_pii.ENCRYPTED_COLUMNS),
)


@dataclass
class ColumnReport:
    re_encrypted: int = 0  # from another key id to the active one
    encrypted: int = 0  # plaintext -> ciphertext
    failures: list[str] = field(default_factory=list)  # "<place>: <reason>", never a value
    keys_after: dict[str, int] = field(default_factory=dict)  # key id (or PLAINTEXT) -> values


@dataclass
class TableReport:
    spec: EncryptedTable
    database: str
    columns: dict[str, ColumnReport]
    rows_changed: int = 0
    batches: int = 0

    @property
    def failed(self) -> int:
        return sum(len(c.failures) for c in self.columns.values())


async def key_counts(conn: asyncpg.Connection, spec: EncryptedTable, column: str) -> dict[str, int]:
    """How many values of a column each key id (or PLAINTEXT) holds."""
    rows = await conn.fetch(
        f"SELECT CASE WHEN starts_with({column}, $1) THEN split_part({column}, ':', 2) ELSE $2 END AS key_id, "
        f"count(*) AS n FROM {spec.table} WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 1",
        PREFIX,
        PLAINTEXT,
    )
    return {r["key_id"]: r["n"] for r in rows}


async def rotate_table(
    conn: asyncpg.Connection,
    keyring: KeyRing,
    spec: EncryptedTable,
    *,
    database: str = "",
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
) -> TableReport:
    """Bring every value of `spec`'s columns under the active key (see the module docstring)."""
    report = TableReport(spec, database, {c: ColumnReport() for c in spec.columns})
    current = f"{PREFIX}{keyring.active_key_id}:"
    pending = " OR ".join(f"({c} IS NOT NULL AND NOT starts_with({c}, $1))" for c in spec.columns)
    select = (
        f"SELECT {spec.key_column}, {', '.join(spec.columns)} FROM {spec.table} "
        f"WHERE ({pending}) AND ($2::uuid IS NULL OR {spec.key_column} > $2) "
        f"ORDER BY {spec.key_column} LIMIT $3 FOR UPDATE"
    )
    last: Any = None
    while True:
        async with conn.transaction():
            rows = await conn.fetch(select, current, last, batch_size)
            if not rows:
                break
            report.batches += 1
            for row in rows:
                changed = _rotate_row(keyring, spec, row, report)
                if changed and not dry_run:
                    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(changed, 2))
                    await conn.execute(
                        f"UPDATE {spec.table} SET {sets} WHERE {spec.key_column} = $1",
                        row[spec.key_column],
                        *changed.values(),
                    )
                if changed:
                    report.rows_changed += 1
            last = rows[-1][spec.key_column]
    for column, col_report in report.columns.items():
        col_report.keys_after = await key_counts(conn, spec, column)
    return report


def _rotate_row(keyring: KeyRing, spec: EncryptedTable, row: asyncpg.Record, report: TableReport) -> dict[str, str]:
    changed: dict[str, str] = {}
    for column in spec.columns:
        stored: str | None = row[column]
        if stored is None or keyring.is_current(stored):
            continue
        binding = Binding(spec.table, column, row[spec.key_column])
        col_report = report.columns[column]
        if not is_ciphertext(stored):
            changed[column] = keyring.encrypt(stored, binding)
            col_report.encrypted += 1
            continue
        try:
            plain = keyring.decrypt(stored, binding)
        except DecryptionError as exc:
            col_report.failures.append(f"{exc.binding}: {exc.reason}")
            continue
        changed[column] = keyring.encrypt(plain, binding)
        col_report.re_encrypted += 1
    return changed


async def rotate(
    settings: Settings, *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> tuple[KeyRing, list[TableReport]]:
    """Rotate every encrypted table of every service database the settings name."""
    keyring = load_keyring(settings)
    reports: list[TableReport] = []
    for spec in ENCRYPTED_TABLES:
        conn = await asyncpg.connect(
            to_libpq_url(settings.service_database_url(spec.service)), **settings.pg_connect_kwargs()
        )
        try:
            report = await rotate_table(
                conn,
                keyring,
                spec,
                database=settings.database_name(spec.service),
                batch_size=batch_size,
                dry_run=dry_run,
            )
        finally:
            await conn.close()
        reports.append(report)
    return keyring, reports


def format_report(keyring: KeyRing, reports: list[TableReport], *, dry_run: bool = False) -> list[str]:
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    lines = [f"active key {keyring.active_key_id!r}; configured keys {', '.join(sorted(keyring.key_ids))}"]
    in_use: Counter[str] = Counter()
    for r in reports:
        for column, c in r.columns.items():
            after = ", ".join(f"{k}: {n}" for k, n in c.keys_after.items()) or "no values"
            lines.append(
                f"{r.database} {r.spec.table}.{column}: {verb} {c.re_encrypted}, encrypted {c.encrypted} plaintext, "
                f"failed {len(c.failures)}; values by key now: {after}"
            )
            lines.extend(f"  cannot decrypt {failure}" for failure in c.failures[:50])
            if len(c.failures) > 50:
                lines.append(f"  ... and {len(c.failures) - 50} more")
            in_use.update(c.keys_after)
    if not dry_run:
        unused = sorted(keyring.key_ids - set(in_use) - {keyring.active_key_id})
        if unused:
            lines.append(f"no value is under key(s) {', '.join(unused)}: they can be removed from ERP_PII_KEYS")
    return lines


# ---- the command ---------------------------------------------------------------------------------


def cmd_rotate_key(ns: argparse.Namespace) -> int:
    from services.ops.cli import resolved_settings
    from services.ops.servers import database_server

    if ns.batch_size < 1:
        print("--batch-size must be at least 1", file=sys.stderr)
        return 2
    with database_server(resolved_settings()) as settings:
        keyring, reports = asyncio.run(rotate(settings, batch_size=ns.batch_size, dry_run=ns.dry_run))
    for line in format_report(keyring, reports, dry_run=ns.dry_run):
        print(line)
    return 1 if any(r.failed for r in reports) else 0


def register(sub: Any) -> None:
    """Add `erp rotate-key` to the CLI's subcommands."""
    parser = sub.add_parser(
        "rotate-key",
        help="re-encrypt sensitive columns under the active key (ERP_PII_ACTIVE_KEY), encrypting any plaintext",
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction (default 500)")
    parser.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    parser.set_defaults(func=cmd_rotate_key)
