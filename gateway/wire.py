"""Protobuf wire values <-> the Python values of GraphQL fields and inputs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import strawberry
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal
from strawberry.types.unset import UNSET

from services.runtime.convert import date_to_pb, decimal_to_pb


def decimal_of(value: PbDecimal) -> Decimal | None:
    return Decimal(value.value) if value.value else None


def date_of(value: Date) -> date | None:
    return date(value.year, value.month, value.day) if value.year else None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def datetime_of(message: Message, field: str) -> datetime | None:
    """`Timestamp.ToDatetime(tzinfo=UTC)`, a third cheaper (thousands of them per deep read)."""
    if not message.HasField(field):
        return None
    stamp = getattr(message, field)
    if not 0 <= stamp.nanos < 1_000_000_000:
        return stamp.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]  # raises for an invalid stamp
    return EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


def provided(obj: object, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields of a GraphQL input the caller actually sent (null included), by Python name."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)  # type: ignore[arg-type]
        if f.name not in exclude and getattr(obj, f.name) is not UNSET
    }


def fill(message: Message, values: Mapping[str, Any]) -> None:
    """Set proto fields from Python values; None clears (empty string, unset date or decimal)."""
    for name, value in values.items():
        if value is None:
            message.ClearField(name)
        elif isinstance(value, Decimal):
            getattr(message, name).CopyFrom(decimal_to_pb(value))
        elif isinstance(value, date):
            getattr(message, name).CopyFrom(date_to_pb(value))
        else:
            setattr(message, name, value)


def amount_of(value: PbDecimal) -> Decimal:
    """A required amount: the wire value exactly ("0.00" stays "0.00"), zero when unset."""
    return Decimal(value.value) if value.value else Decimal(0)


def id_or_none(value: str) -> strawberry.ID | None:
    """An optional reference: the empty string means none."""
    return strawberry.ID(value) if value else None
