"""What every step shares: connections, the state kept in each target database, progress bars,
summaries, and the canonical text forms the checksums compare."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.runtime.settings import Settings, to_libpq_url

STATE_SCHEMA = "erp_migration"
APPLICATION = "erp-migrate-monolith"
DEFAULT_PLAN = Path("monolith-migration") / "plan.json"
CHUNK_BYTES = 1 << 20  # COPY data is forwarded to the target in chunks of about 1 MiB
QUEUE_CHUNKS = 8

STATE_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.units (
        unit text PRIMARY KEY,
        status text NOT NULL,
        rows bigint,
        seconds numeric,
        source_snapshot text,
        source_database text,
        finished_at timestamptz NOT NULL DEFAULT now()
    )""",
    f"""CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.state (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )""",
)


@dataclass
class Hooks:
    """Test seams: called before each copy unit and for every chunk a COPY streams."""

    before_unit: Callable[[str], Awaitable[None]] | None = None
    on_chunk: Callable[[str, int], Awaitable[None]] | None = None


@dataclass
class Context:
    """One invocation: the target settings, the source URL, the plan file, output."""

    settings: Settings
    source_url: str | None
    plan_path: Path
    quiet: bool = False
    source_schema: str = "public"
    hooks: Hooks = field(default_factory=Hooks)

    @property
    def console(self) -> Console:
        return Console(stderr=True, quiet=self.quiet)

    def target_url(self, service: str) -> str:
        return to_libpq_url(self.settings.service_database_url(service))

    def require_source(self) -> str:
        if not self.source_url:
            raise MigrationError("name the monolith with --source postgresql://... (or ERP_MONOLITH_URL)")
        return to_libpq_url(self.source_url)

    async def source(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.require_source(),
            server_settings=_session_settings(self.source_schema),
            **self.settings.pg_connect_kwargs(),
        )

    @contextlib.asynccontextmanager
    async def connected_source(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection to the monolith for one step, closed at the end (unless already closed)."""
        conn = await self.source()
        try:
            yield conn
        finally:
            if not conn.is_closed():
                await conn.close()

    async def target(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.target_url(service), server_settings=_session_settings(None), **self.settings.pg_connect_kwargs()
        )


def _session_settings(search_path: str | None) -> dict[str, str]:
    """Both sides render values the same way (UTC, ISO dates), and nothing times out mid-copy."""
    settings = {
        "application_name": APPLICATION,
        "timezone": "UTC",
        "datestyle": "ISO, YMD",
        "statement_timeout": "0",
        "idle_in_transaction_session_timeout": "0",
        "extra_float_digits": "3",
    }
    if search_path:
        settings["search_path"] = search_path
    return settings


class MigrationError(Exception):
    """A refusal or a precondition the operator must fix; printed without a traceback."""


@dataclass
class StepResult:
    """What a step did: summary lines, problems (non-empty = exit status 1), data for tests/JSON."""

    step: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        out = [f"== {self.step}: {'ok' if self.ok else 'FAILED'} ({self.seconds:.1f} s)"]
        out += [f"  {line}" for line in self.lines]
        out += [f"  warning: {w}" for w in self.warnings]
        out += [f"  PROBLEM: {p}" for p in self.problems]
        return "\n".join(out)


@contextlib.contextmanager
def timed(result: StepResult) -> Iterator[StepResult]:
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started


@contextlib.contextmanager
def progress_bar(ctx: Context, description: str, total: float | None) -> Iterator[Callable[[float, str], None]]:
    """A progress bar on stderr; yields advance(amount, label)."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"),
        console=ctx.console,
        transient=False,
        disable=ctx.quiet,
    )
    with progress:
        task = progress.add_task(description, total=total, label="")

        def advance(amount: float, label: str = "") -> None:
            progress.update(task, advance=amount, label=label)

        yield advance


# ---- state in the target databases -------------------------------------------------------------


async def ensure_state(conn: asyncpg.Connection) -> None:
    for statement in STATE_DDL:
        await conn.execute(statement)


async def has_state(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{STATE_SCHEMA}.state"))


async def get_state(conn: asyncpg.Connection, key: str) -> Any:
    if not await has_state(conn):
        return None
    raw = await conn.fetchval(f"SELECT value FROM {STATE_SCHEMA}.state WHERE key = $1", key)
    return json.loads(raw) if raw is not None else None


async def set_state(conn: asyncpg.Connection, key: str, value: Any) -> None:
    await conn.execute(
        f"INSERT INTO {STATE_SCHEMA}.state (key, value) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        key,
        json.dumps(value, default=str, sort_keys=True),
    )


async def done_units(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    if not await has_state(conn):
        return {}
    rows = await conn.fetch(f"SELECT * FROM {STATE_SCHEMA}.units WHERE status = 'done'")
    return {r["unit"]: r for r in rows}


async def mark_unit(
    conn: asyncpg.Connection, unit: str, *, rows: int, seconds: float, snapshot: str, database: str
) -> None:
    await conn.execute(
        f"INSERT INTO {STATE_SCHEMA}.units (unit, status, rows, seconds, source_snapshot, source_database) "
        "VALUES ($1, 'done', $2, $3, $4, $5) ON CONFLICT (unit) DO UPDATE SET status = 'done', rows = EXCLUDED.rows, "
        "seconds = EXCLUDED.seconds, source_snapshot = EXCLUDED.source_snapshot, "
        "source_database = EXCLUDED.source_database, finished_at = now()",
        unit,
        rows,
        round(seconds, 3),
        snapshot,
        database,
    )


@contextlib.asynccontextmanager
async def targets(ctx: Context, services: list[str]) -> AsyncIterator[dict[str, asyncpg.Connection]]:
    """One connection per service database (closed at the end)."""
    conns: dict[str, asyncpg.Connection] = {}
    try:
        for service in services:
            conns[service] = await ctx.target(service)
        yield conns
    finally:
        for conn in conns.values():
            await conn.close()


async def pipe(
    src: asyncpg.Connection,
    query: str,
    dst: asyncpg.Connection,
    table: str,
    columns: list[str],
    *,
    hooks: Hooks | None = None,
    label: str = "",
    on_bytes: Callable[[int], None] | None = None,
) -> int:
    """Stream `query` from the source into `table` on the target (binary COPY); returns rows."""
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
    buffer = bytearray()

    async def sink(data: bytes) -> None:
        buffer.extend(data)
        if len(buffer) >= CHUNK_BYTES:
            await queue.put(bytes(buffer))
            buffer.clear()

    async def produce() -> None:
        try:
            await src.copy_from_query(query, output=sink, format="binary")
        except BaseException as exc:
            await queue.put(exc)
            raise
        if buffer:
            await queue.put(bytes(buffer))
        await queue.put(None)

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise MigrationError(f"reading {label or table} from the monolith failed: {item}") from item
            sent += len(item)
            if on_bytes is not None:
                on_bytes(len(item))
            if hooks is not None and hooks.on_chunk is not None:
                await hooks.on_chunk(label or table, sent)
            yield item

    producer = asyncio.create_task(produce())
    try:
        status = await dst.copy_to_table(table, source=chunks(), columns=columns, format="binary")
    except BaseException:
        if not producer.done():
            # The source is mid-COPY and cannot be stopped cleanly: drop the connection (its
            # read-only snapshot ends with it) rather than leave it in an unusable state.
            producer.cancel()
            src.terminate()
        with contextlib.suppress(BaseException):
            await producer
        raise
    with contextlib.suppress(MigrationError):
        await producer
    return int(str(status).split()[-1])


# ---- SQL text helpers ------------------------------------------------------------------------


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def canonical(expr: str, base_type: str) -> str:
    """A value's text form, identical on both servers for equal values (numeric scale ignored:
    12.5 and 12.50 are the same amount; timestamps print in UTC on both sessions)."""
    if base_type == "numeric":
        return f"trim_scale(({expr})::numeric)::text"
    return f"({expr})::text"


def row_hash(texts: list[str]) -> str:
    """A 64-bit hash of a row of canonical texts (ROW()::text quotes, so no ambiguity)."""
    return f"hashtextextended(ROW({', '.join(texts)})::text, 0)"


def visible_in_snapshot(txid: int, snapshot: str | None) -> bool:
    """pg_visible_in_snapshot in Python, for a `xmin:xmax:xip,...` snapshot text."""
    if not snapshot:
        return False
    xmin_s, xmax_s, xip_s = snapshot.split(":")
    xmin, xmax = int(xmin_s), int(xmax_s)
    if txid < xmin:
        return True
    if txid >= xmax:
        return False
    return str(txid) not in set(xip_s.split(",")) if xip_s else True


def fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s" if seconds > 0 else "-"
