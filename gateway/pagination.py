"""Relay-style connections over the services' cursor pagination.

A gateway cursor is opaque to clients: a service page token plus an offset into that page
("after the `offset`-th item of the page that `token` starts"). Every edge gets one, so a client
may resume after any edge; the last edge of a page carries the service's next page token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from gateway.errors import bad_input

T = TypeVar("T")
M = TypeVar("M")

DEFAULT_FIRST = 50
MAX_PAGE = 1000


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Number of items matching the filters, over all pages.")


@dataclass(frozen=True)
class Cursor:
    token: str = ""
    offset: int = 0

    def encode(self) -> str:
        return base64.urlsafe_b64encode(json.dumps([self.token, self.offset]).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls()
        try:
            token, offset = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            if not isinstance(token, str) or not isinstance(offset, int) or offset < 0:
                raise ValueError(raw)
        except (ValueError, TypeError):
            raise bad_input("after", "is not a cursor this API issued") from None
        return cls(token, offset)


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_FIRST
    if first < 0:
        raise bad_input("first", "must not be negative")
    return min(first, MAX_PAGE)


@dataclass(frozen=True)
class ServicePage(Generic[M]):
    items: Sequence[M]
    next_page_token: str
    total_size: int


async def remote_connection(
    fetch: Callable[[int, str], Awaitable[ServicePage[M]]],
    convert: Callable[[M], T],
    first: int | None,
    after: str | None,
) -> Connection[T]:
    """One service page (`fetch(page_size, page_token)`) as a connection."""
    start, size = Cursor.decode(after), page_size(first)
    page = await fetch(min(max(start.offset + size, 1), MAX_PAGE), start.token)
    items = list(page.items[start.offset : start.offset + size])
    edges = []
    for i, item in enumerate(items):
        position = start.offset + i + 1
        at_page_end = position == len(page.items) and page.next_page_token
        cursor = Cursor(page.next_page_token, 0) if at_page_end else Cursor(start.token, position)
        edges.append(Edge(cursor=cursor.encode(), node=convert(item)))
    has_next = bool(page.next_page_token) or start.offset + len(items) < len(page.items)
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=page.total_size,
    )


def local_connection(
    items: Sequence[M], convert: Callable[[M], T], first: int | None, after: str | None, total: int | None = None
) -> Connection[T]:
    """A connection over a list the gateway already holds (offset cursors): the whole list, or
    its first items with `total` the length of the whole."""
    start, size = Cursor.decode(after), page_size(first)
    if start.token:
        raise bad_input("after", "is not a cursor of this list")
    window = items[start.offset : start.offset + size]
    edges = [Edge(cursor=Cursor("", start.offset + i + 1).encode(), node=convert(m)) for i, m in enumerate(window)]
    count = len(items) if total is None else total
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=start.offset + len(window) < count, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=count,
    )
