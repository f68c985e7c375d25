"""What every part of the SupplyChainService servicer shares: dependencies and parsing helpers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from services.runtime.clock import Clock
from services.runtime.convert import timestamp_from_pb
from services.runtime.db import Database
from services.runtime.errors import Validator
from services.runtime.service import ServiceDeps
from services.supply_chain import domain

K = TypeVar("K")
V = TypeVar("V")

SHIPMENT = "shipment"


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.db: Database = deps.db
        self.clock: Clock = deps.clock

    def time_or_now(self, v: Validator, value: Timestamp, is_set: bool, field: str, now: datetime) -> datetime:
        """The instant sent (not in the future), or now when unset."""
        if not is_set:
            return now
        parsed = v.collect(lambda: timestamp_from_pb(value, field))
        domain.check_not_future(v, parsed, now, field)
        return parsed or now


def text_or_none(value: str) -> str | None:
    stripped = value.strip()
    return stripped or None


def enum_value(v: Validator, value: K, known: Mapping[K, V], field: str) -> V | None:
    """One required enum value (UNSPECIFIED or unknown is a violation)."""
    if value not in known:
        v.check(False, field, "is required" if not value else "is not a known value")
        return None
    return known[value]
