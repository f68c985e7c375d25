"""What every part of the AccountingService servicer shares: the database, the clock and
small request helpers."""

from __future__ import annotations

import uuid
from datetime import date

from google.type.date_pb2 import Date

from services.runtime import context
from services.runtime.clock import Clock
from services.runtime.convert import date_from_pb
from services.runtime.db import Database
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.service import ServiceDeps


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.db: Database = deps.db
        self.clock: Clock = deps.clock

    def date_or_today(self, value: Date, field: str) -> date:
        parsed = date_from_pb(value, field, required=False)
        return parsed if parsed is not None else self.clock.today()


def caller_id() -> uuid.UUID | None:
    return context.current().user_id


def check_range(start: date | None, end: date | None, field: str = "end_date") -> None:
    if start is not None and end is not None and end < start:
        raise InvalidArgument.field(field, "must be on or after start_date")


def text_arg(v: Validator, value: str, field: str, limit: int) -> str:
    """A stripped text argument, checked for length and NUL characters (PostgreSQL refuses them)."""
    value = value.strip()
    v.max_len(value, field, limit)
    return value
