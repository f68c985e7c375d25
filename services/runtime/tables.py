"""Tables every service database has: event_store, processed_events and the outbox.

The runtime writes them with Core statements against `EVENT_STORE`, `PROCESSED_EVENTS` and
`OUTBOX` (identical in every database). `new_metadata()` gives a service a MetaData with stable
constraint names and copies of these tables, so each service's Alembic history creates them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_common = MetaData(naming_convention=NAMING_CONVENTION)

EVENT_STORE = Table(
    "event_store",
    _common,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("aggregate_id", UUID(as_uuid=True), nullable=False),
    Column("aggregate_type", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("event_data", JSONB, nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("user_id", UUID(as_uuid=True)),
    Column("correlation_id", UUID(as_uuid=True)),
    Index("idx_event_store_aggregate", "aggregate_id"),
    Index("idx_event_store_type", "event_type"),
    comment="Every event this service emitted (spec: Event Sourcing for Audit Trail)",
)

PROCESSED_EVENTS = Table(
    "processed_events",
    _common,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("source_service", String(50), nullable=False),
    Column("processed_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("result", JSONB),
    Index("idx_processed_events_type", "event_type"),
    comment="Events this service's consumers have applied (idempotency)",
)

OUTBOX = Table(
    "outbox",
    _common,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Index("idx_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    comment="Transactional outbox: committed with the change, published to JetStream by the relay",
)


def new_metadata() -> MetaData:
    """A service's MetaData: naming convention plus the common tables."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for table in (EVENT_STORE, PROCESSED_EVENTS, OUTBOX):
        table.to_metadata(metadata)
    return metadata


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
