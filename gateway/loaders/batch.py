"""Building blocks of the per-request DataLoaders: one batched RPC (or one paged listing) per
batch of keys, whatever the number of keys asked for in the same tick."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

MAX_BATCH = 1000  # the services' BatchGet and page size limit

M = TypeVar("M")
Page = tuple[Sequence[M], str]  # (items, next page token)


def valid_ids(keys: Sequence[str]) -> list[str]:
    """Keys that can name an entity; anything else resolves to null without asking."""
    out = []
    for key in dict.fromkeys(keys):
        try:
            uuid.UUID(key)
        except ValueError:
            continue
        out.append(key)
    return out


def _wanted(keys: Sequence[str], uuid_keys: bool) -> list[str]:
    return valid_ids(keys) if uuid_keys else [k for k in dict.fromkeys(keys) if k]


def by_key(
    fetch: Callable[[list[str]], Awaitable[Iterable[M]]], key: Callable[[M], str], *, uuid_keys: bool = True
) -> DataLoader[str, M | None]:
    """Entities by a unique key (id, account code, SKU): one `fetch(keys)` per batch."""

    async def load(keys: list[str]) -> list[M | None]:
        wanted = _wanted(keys, uuid_keys)
        found = {key(m): m for m in await fetch(wanted)} if wanted else {}
        return [found.get(k) for k in keys]

    return DataLoader(load, max_batch_size=MAX_BATCH)


def grouped(
    fetch_page: Callable[[list[str], str], Awaitable[Page[M]]],
    group: Callable[[M], str],
    *,
    uuid_keys: bool = True,
) -> DataLoader[str, list[M]]:
    """Children of many parents from one listing filtered by all the parents' keys (ids, or
    names with `uuid_keys=False`), in the service's order, through every page
    (`fetch_page(parent_keys, page_token)`)."""

    async def load(keys: list[str]) -> list[list[M]]:
        wanted = _wanted(keys, uuid_keys)
        out: dict[str, list[M]] = {k: [] for k in keys}
        token = ""
        while wanted:
            items, token = await fetch_page(wanted, token)
            for item in items:
                out.setdefault(group(item), []).append(item)
            if not token:
                break
        return [out[k] for k in keys]

    return DataLoader(load, max_batch_size=MAX_BATCH)


def forget(loader: DataLoader[str, Any], key: str) -> None:
    with contextlib.suppress(KeyError):  # DataLoader.clear raises for keys it never loaded
        loader.clear(key)
