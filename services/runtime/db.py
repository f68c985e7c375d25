"""The database engine and the unit of work.

A unit of work is one transaction: the domain writes, their event_store rows and their outbox
rows commit together or not at all. Services commit here, at the boundary, never in domain code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from services.runtime import context, metrics
from services.runtime.events import build_headers, event_subject
from services.runtime.redaction import assert_no_sensitive_fields
from services.runtime.settings import Settings
from services.runtime.tables import EVENT_STORE, OUTBOX

OUTBOX_CHANNEL = "erp_outbox"


def connect_args(settings: Settings, application_name: str) -> dict[str, Any]:
    """asyncpg connect arguments: statement timeout, SSL (ERP_DB_SSLMODE) and, behind PgBouncer in
    transaction mode (ERP_DB_STATEMENT_CACHE_SIZE=0), no statement caches and unique statement names."""
    args: dict[str, Any] = {
        "server_settings": {
            "statement_timeout": str(settings.statement_timeout_ms),
            "application_name": application_name,
        }
    }
    args.update(settings.pg_connect_kwargs())
    if settings.db_statement_cache_size is not None:
        args["statement_cache_size"] = settings.db_statement_cache_size
        args["prepared_statement_cache_size"] = settings.db_statement_cache_size
        if settings.db_statement_cache_size == 0:
            args["prepared_statement_name_func"] = _unique_statement_name
    return args


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def create_engine(url: str, settings: Settings, application_name: str) -> AsyncEngine:
    """An asyncpg engine with the spec's pool (20) and statement timeout (5 s) by default.

    An exhausted pool raises sqlalchemy's TimeoutError after `pool_timeout_s`, which the gRPC
    layer turns into UNAVAILABLE (grpc_errors.py): callers never hang on a busy database."""
    return create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=False,
        hide_parameters=True,  # bound values (personal data) never reach logs or error text
        connect_args=connect_args(settings, application_name),
    )


@dataclass
class _PendingEvent:
    event_id: uuid.UUID
    message: Message
    aggregate_type: str
    aggregate_id: uuid.UUID
    version: int | None


class UnitOfWork:
    """One transaction. `record()` stages an event; it is written when the work commits."""

    def __init__(self, session: AsyncSession, subject_root: str) -> None:
        self.session = session
        self._subject_root = subject_root
        self._events: list[_PendingEvent] = []

    def record(
        self,
        message: Message,
        *,
        aggregate_type: str,
        aggregate_id: uuid.UUID,
        version: int | None = None,
    ) -> uuid.UUID:
        assert_no_sensitive_fields(message)
        event_id = uuid.uuid4()
        self._events.append(_PendingEvent(event_id, message, aggregate_type, aggregate_id, version))
        return event_id

    @property
    def pending_events(self) -> list[Message]:
        return [e.message for e in self._events]

    async def _flush_events(self) -> None:
        if not self._events:
            return
        ctx = context.current()
        now = datetime.now(UTC)
        store_rows: list[dict[str, Any]] = []
        outbox_rows: list[dict[str, Any]] = []
        for e in self._events:
            event_type = e.message.DESCRIPTOR.full_name
            store_rows.append(
                {
                    "id": e.event_id,
                    "aggregate_id": e.aggregate_id,
                    "aggregate_type": e.aggregate_type,
                    "event_type": event_type,
                    "event_data": MessageToDict(e.message, preserving_proto_field_name=True),
                    "event_version": e.version if e.version is not None else 0,
                    "occurred_at": now,
                    "user_id": ctx.user_id,
                    "correlation_id": ctx.correlation_id,
                }
            )
            outbox_rows.append(
                {
                    "event_id": e.event_id,
                    "subject": event_subject(self._subject_root, event_type),
                    "event_type": event_type,
                    "aggregate_id": str(e.aggregate_id),
                    "payload": e.message.SerializeToString(),
                    "headers": build_headers(
                        event_id=e.event_id,
                        event_type=event_type,
                        aggregate_id=str(e.aggregate_id),
                        ctx=ctx,
                        occurred_at=now,
                    ),
                }
            )
        unversioned = [r for r, e in zip(store_rows, self._events, strict=True) if e.version is None]
        if unversioned:
            await self._number_unversioned(unversioned)
        await self.session.execute(insert(EVENT_STORE), store_rows)
        await self.session.execute(insert(OUTBOX), outbox_rows)
        await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        self._events.clear()

    async def _number_unversioned(self, rows: list[dict[str, Any]]) -> None:
        """Events of aggregates without a version column get the next number per aggregate."""
        ids = list({r["aggregate_id"] for r in rows})
        result = await self.session.execute(
            select(EVENT_STORE.c.aggregate_id, func.max(EVENT_STORE.c.event_version))
            .where(EVENT_STORE.c.aggregate_id.in_(ids))
            .group_by(EVENT_STORE.c.aggregate_id)
        )
        last: dict[uuid.UUID, int] = {row[0]: row[1] for row in result}
        for r in rows:
            last[r["aggregate_id"]] = last.get(r["aggregate_id"], 0) + 1
            r["event_version"] = last[r["aggregate_id"]]


class Database:
    """One service's database: engine, sessions and units of work."""

    def __init__(self, url: str, settings: Settings, service: str) -> None:
        self.service = service
        self.settings = settings
        self.engine = create_engine(url, settings, f"erp-{service}")
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        pool = self.engine.pool
        metrics.track_pool(service, settings.pool_size, lambda: int(getattr(pool, "checkedout", lambda: 0)()))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction that commits on normal exit (with its events) and rolls back on error."""
        async with self._sessions() as session, session.begin():
            uow = UnitOfWork(session, self.settings.subject_root)
            yield uow
            await uow._flush_events()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (repeatable snapshot not needed: one statement per read)."""
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def unique_violation(exc: IntegrityError) -> str | None:
    """The name of the unique constraint an IntegrityError broke, if that is what it was."""
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return getattr(orig, "constraint_name", None) or "unique"
    return None


def translate_integrity_error(exc: IntegrityError, unique_messages: dict[str, str]) -> Exception:
    """The domain error for a broken unique constraint (ALREADY_EXISTS), else the original."""
    from services.runtime.errors import AlreadyExists

    constraint = unique_violation(exc)
    if constraint is not None and constraint in unique_messages:
        return AlreadyExists(unique_messages[constraint])
    return exc
