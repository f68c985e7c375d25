"""What every part of the InventoryService servicer shares: the database, the clock and small
request helpers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from services.runtime import context
from services.runtime.clock import Clock
from services.runtime.db import Database
from services.runtime.errors import InvalidArgument
from services.runtime.service import ServiceDeps

K = TypeVar("K")
V = TypeVar("V")

# Timestamps a caller may send: 0001-01-01 .. 9999-12-31 (what datetime can hold).
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.db: Database = deps.db
        self.clock: Clock = deps.clock


def caller_id() -> uuid.UUID | None:
    return context.current().user_id


def time_from_pb(value: Timestamp, field: str) -> datetime:
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS:
        raise InvalidArgument.field(field, "is out of range")
    return value.ToDatetime(tzinfo=UTC)


def enums_from_pb(values: Sequence[K], known: Mapping[K, V], field: str) -> list[V]:
    """Map repeated enum filters; an unknown or UNSPECIFIED value is INVALID_ARGUMENT."""
    out = []
    for value in values:
        if value not in known:
            raise InvalidArgument.field(field, "contains an unknown value")
        out.append(known[value])
    return out


def check_time_range(start: datetime | None, end: datetime | None, field: str = "end_time") -> None:
    if start is not None and end is not None and end < start:
        raise InvalidArgument.field(field, "must not be before the start")
