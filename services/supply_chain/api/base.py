"""What every part of the SupplyChainService servicer shares: dependencies and parsing helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from services.runtime.clock import Clock
from services.runtime.db import Database
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.service import ServiceDeps
from services.supply_chain import domain

K = TypeVar("K")
V = TypeVar("V")

SHIPMENT = "shipment"
# Timestamps a caller may send: 0001-01-01 .. 9999-12-31 (what datetime can hold).
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.db: Database = deps.db
        self.clock: Clock = deps.clock

    def time_or_now(self, v: Validator, value: Timestamp, is_set: bool, field: str, now: datetime) -> datetime:
        """The instant sent (not in the future), or now when unset."""
        if not is_set:
            return now
        parsed = v.collect(lambda: time_from_pb(value, field))
        domain.check_not_future(v, parsed, now, field)
        return parsed or now


def time_from_pb(value: Timestamp, field: str) -> datetime:
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS:
        raise InvalidArgument.field(field, "is out of range")
    return value.ToDatetime(tzinfo=UTC)


def text_or_none(value: str) -> str | None:
    stripped = value.strip()
    return stripped or None


def enum_values(v: Validator, values: Iterable[K], known: Mapping[K, V], field: str) -> list[V]:
    """Map wire enum values; an unknown or UNSPECIFIED one is a violation."""
    out: list[V] = []
    for value in values:
        if value not in known:
            v.check(False, field, "contains an unknown value")
            break
        out.append(known[value])
    return out


def enum_value(v: Validator, value: K, known: Mapping[K, V], field: str) -> V | None:
    """One required enum value (UNSPECIFIED or unknown is a violation)."""
    if value not in known:
        v.check(False, field, "is required" if not value else "is not a known value")
        return None
    return known[value]
