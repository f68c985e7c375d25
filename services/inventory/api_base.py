"""What every part of the InventoryService servicer shares: the database, the clock and small
request helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from services.runtime.clock import Clock
from services.runtime.db import Database
from services.runtime.errors import InvalidArgument, check_range
from services.runtime.service import ServiceDeps

K = TypeVar("K")
V = TypeVar("V")


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.db: Database = deps.db
        self.clock: Clock = deps.clock


def enums_from_pb(values: Sequence[K], known: Mapping[K, V], field: str) -> list[V]:
    """Map repeated enum filters; an unknown or UNSPECIFIED value is INVALID_ARGUMENT."""
    out = []
    for value in values:
        if value not in known:
            raise InvalidArgument.field(field, "contains an unknown value")
        out.append(known[value])
    return out


def check_time_range(start: datetime | None, end: datetime | None, field: str = "end_time") -> None:
    check_range(start, end, field, "must not be before the start")
