"""Generic data access shared by every service: get, batch get, keyset pages, versioned locks.

No service writes its own copy of these; they take the mapped class and a resource name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from services.runtime.errors import InvalidArgument, NotFound, StaleVersion

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


async def get_or_404(session: AsyncSession, model: type[T], key: uuid.UUID, resource: str, *, lock: bool = False) -> T:
    stmt = select(model).where(model.id == key)  # type: ignore[attr-defined]
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound(resource, str(key))
    return row


async def get_versioned_for_update(
    session: AsyncSession, model: type[T], key: uuid.UUID, expected_version: int, resource: str
) -> T:
    """Lock the row and check optimistic-locking `version` (0 = caller did not say: no check)."""
    row = await get_or_404(session, model, key, resource, lock=True)
    actual = row.version  # type: ignore[attr-defined]
    if expected_version and expected_version != actual:
        raise StaleVersion(resource, str(key), expected_version, actual)
    return row


async def batch_get(session: AsyncSession, model: type[T], keys: Sequence[uuid.UUID]) -> list[T]:
    if not keys:
        return []
    stmt = select(model).where(model.id.in_(set(keys)))  # type: ignore[attr-defined]
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True)
class Page(Generic[R]):
    items: list[R]
    next_page_token: str
    total_size: int


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _encode_value(v: Any) -> list[Any]:
    if isinstance(v, uuid.UUID):
        return ["u", str(v)]
    if isinstance(v, datetime):
        return ["t", v.isoformat()]
    if isinstance(v, date):
        return ["d", v.isoformat()]
    if isinstance(v, Decimal):
        return ["n", str(v)]
    if v is None or isinstance(v, (str, int)):
        return ["s", v]
    raise TypeError(f"cannot put {type(v).__name__} in a page token")


def _decode_value(tagged: list[Any]) -> Any:
    tag, raw = tagged
    if tag == "u":
        return uuid.UUID(raw)
    if tag == "t":
        return datetime.fromisoformat(raw)
    if tag == "d":
        return date.fromisoformat(raw)
    if tag == "n":
        return Decimal(raw)
    return raw


def filters_fingerprint(filters: object) -> str:
    return hashlib.sha256(repr(filters).encode()).hexdigest()[:16]


def encode_token(values: Sequence[Any], fingerprint: str) -> str:
    body = json.dumps({"k": [_encode_value(v) for v in values], "f": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = [_decode_value(v) for v in body["k"]]
        same_filters = body["f"] == fingerprint
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
        raise InvalidArgument.field("page_token", "is not a token this service issued") from None
    if not same_filters:
        raise InvalidArgument.field("page_token", "was issued for different filters")
    return values


def _fits(value: Any, column: QueryableAttribute[Any]) -> bool:
    """A decoded cursor value has the Python type of the column it is compared with."""
    try:
        expected = column.type.python_type
    except NotImplementedError:
        return True
    if expected is date:
        return type(value) is date
    return isinstance(value, expected)


@dataclass(frozen=True)
class Desc:
    """An `order_by` key of list_page sorted newest / largest first."""

    column: QueryableAttribute[Any]


OrderKey = QueryableAttribute[Any] | Desc


async def list_page(
    session: AsyncSession,
    stmt: Select[Any],
    order_by: Sequence[OrderKey],
    *,
    page_size: int,
    page_token: str,
    filters: object,
    descending: bool = False,
) -> Page[Any]:
    """One page of `stmt` in keyset order over `order_by` (unique in combination); a key wrapped
    in `Desc` (or every key, with `descending`) is sorted high to low."""
    keys = [(k.column, True) if isinstance(k, Desc) else (k, descending) for k in order_by]
    size = page_size_of(page_size)
    fingerprint = filters_fingerprint(filters)
    total = (await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))).scalar_one()
    paged = stmt
    if page_token:
        after = decode_token(page_token, fingerprint)
        if len(after) != len(keys) or not all(_fits(v, col) for v, (col, _) in zip(after, keys, strict=True)):
            raise InvalidArgument.field("page_token", "is not a token this service issued")
        paged = paged.where(_after(keys, after))
    ordering = [col.desc() if desc else col for col, desc in keys]
    rows = list((await session.execute(paged.order_by(*ordering).limit(size + 1))).scalars())
    next_token = ""
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_token = encode_token([getattr(last, col.key) for col, _ in keys], fingerprint)
    return Page(items=rows, next_page_token=next_token, total_size=int(total))


def _after(keys: list[tuple[QueryableAttribute[Any], bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows after `values` in the keys' order: one row comparison when every key runs the same
    way (an index serves it), else the expansion (k1 beyond v1) OR (k1 = v1 AND k2 beyond v2) ..."""
    if len({desc for _, desc in keys}) == 1:
        key, bound = tuple_(*(col for col, _ in keys)), tuple_(*values)
        return key < bound if keys[0][1] else key > bound
    terms = []
    for i, ((col, desc), value) in enumerate(zip(keys, values, strict=True)):
        equal = [c == v for (c, _), v in zip(keys[:i], values[:i], strict=True)]
        terms.append(and_(*equal, col < value if desc else col > value))
    return or_(*terms)
