"""Conversions between protobuf wire types and Python values.

Money is `Decimal` in Python and a decimal string on the wire (google.type.Decimal); never a float.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import overload

from google.protobuf.timestamp_pb2 import Timestamp
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.errors import InvalidArgument

CENT = Decimal("0.01")
# Timestamps a caller may send: 0001-01-01 .. 9999-12-31 (what datetime can hold).
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799
_WIDE = Context(prec=60)  # quantize never overflows for values we accept


@overload
def decimal_to_pb(value: Decimal) -> PbDecimal: ...
@overload
def decimal_to_pb(value: Decimal | None) -> PbDecimal | None: ...
def decimal_to_pb(value: Decimal | None) -> PbDecimal | None:
    if value is None:
        return None
    return PbDecimal(value=format(value, "f"))


def decimal_from_pb(value: PbDecimal, field: str, *, required: bool = True) -> Decimal | None:
    """Parse a wire decimal; an empty value is None (or an error when required)."""
    if not value.value:
        if required:
            raise InvalidArgument.field(field, "is required")
        return None
    try:
        parsed = Decimal(value.value)
    except InvalidOperation:
        raise InvalidArgument.field(field, "is not a decimal number") from None
    if not parsed.is_finite():
        raise InvalidArgument.field(field, "must be a finite number")
    return parsed


def money_from_pb(value: PbDecimal, field: str, *, required: bool = True) -> Decimal | None:
    """A decimal with at most two fraction digits."""
    parsed = decimal_from_pb(value, field, required=required)
    if parsed is None:
        return None
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and parsed != parsed.quantize(CENT, context=_WIDE):
        raise InvalidArgument.field(field, "must have at most two decimal places")
    if parsed.adjusted() > 15:
        raise InvalidArgument.field(field, "is too large")
    return parsed.quantize(CENT, context=_WIDE)


@overload
def date_to_pb(value: date) -> Date: ...
@overload
def date_to_pb(value: date | None) -> Date | None: ...
def date_to_pb(value: date | None) -> Date | None:
    if value is None:
        return None
    return Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(value: Date, field: str, *, required: bool = True) -> date | None:
    if value.year == 0 and value.month == 0 and value.day == 0:
        if required:
            raise InvalidArgument.field(field, "is required")
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument.field(field, "is not a valid calendar date") from None


def timestamp_to_pb(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return ts


def timestamp_from_pb(value: Timestamp, field: str) -> datetime:
    """A wire timestamp as an aware UTC datetime; one datetime cannot hold is out of range."""
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS:
        raise InvalidArgument.field(field, "is out of range")
    return value.ToDatetime(tzinfo=UTC)


def uuid_from_str(value: str, field: str, *, required: bool = True) -> uuid.UUID | None:
    if not value:
        if required:
            raise InvalidArgument.field(field, "is required")
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument.field(field, "is not a valid UUID") from None


def uuids_from_strs(values: list[str] | tuple[str, ...], field: str, limit: int = 1000) -> list[uuid.UUID]:
    if len(values) > limit:
        raise InvalidArgument.field(field, f"at most {limit} ids per call")
    out: list[uuid.UUID] = []
    for v in values:
        parsed = uuid_from_str(v, field)
        assert parsed is not None
        out.append(parsed)
    return out


def ids_filter(one: str, many: Sequence[str], one_field: str, many_field: str) -> list[uuid.UUID]:
    """A List filter given as one id and/or a repeated field of ids (at most 1000): the ids of
    both, distinct and sorted; empty when neither is set (no filter)."""
    ids = set(uuids_from_strs(list(many), many_field))
    single = uuid_from_str(one, one_field, required=False)
    if single is not None:
        ids.add(single)
    return sorted(ids)


def str_or_empty(value: object | None) -> str:
    return "" if value is None else str(value)
