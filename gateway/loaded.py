"""Fields read through a loader, resolved without a coroutine once their data is loaded.

graphql-core awaits only what a resolver returns as an awaitable, and an awaitable field costs a
coroutine per field plus a task per item of every list above it. A `Loaded` field returns its
value directly when the loader's future is already done (the key was primed, loaded earlier in
the request, or prefetched by `gateway.prefetch` for the whole level) and an awaitable only
otherwise, so the same field works whether or not a prefetch ran.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

if TYPE_CHECKING:
    from gateway.loaders import Loaders

P = TypeVar("P")  # the parent object
K = TypeVar("K", bound=Hashable)  # the loader's key
V = TypeVar("V")  # what the loader returns for a key
T = TypeVar("T")

Args = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])


def then(future: Awaitable[V], finish: Callable[[V], T]) -> T | Awaitable[T]:
    """`finish(value)` now when `future` is done, else an awaitable of it."""
    if isinstance(future, asyncio.Future) and future.done():
        return finish(future.result())
    return _later(future, finish)


async def _later(future: Awaitable[V], finish: Callable[[V], T]) -> T:
    return finish(await future)


def _succeeded(future: Awaitable[Any]) -> bool:
    return (
        isinstance(future, asyncio.Future) and future.done() and not future.cancelled() and future.exception() is None
    )


@dataclass(frozen=True)
class Loaded(Generic[P, K, V]):
    """How a field of P is read: the loader, the loader key of the parent's field asked with
    these arguments (a falsy key: the field is null; most keys are an attribute, `attribute_key`) and
    how the loaded value becomes the field's value (`finish(loaders, parent, value, args)`)."""

    loader: Callable[[Loaders], DataLoader[K, V]]
    key: Callable[[P, Args], K | None]
    finish: Callable[[Loaders, P, V, Args], Any]

    def resolve(self, loaders: Loaders, parent: P, args: Args) -> Any:
        """The field's value, or an awaitable of it while its key is not loaded yet."""
        key = self.key(parent, args)
        if not key:
            return None
        return then(self.loader(loaders).load(key), lambda value: self.finish(loaders, parent, value, args))

    async def prefetch(self, loaders: Loaders, parents: list[P], args: Args) -> list[Any]:
        """Loads the field for all `parents` (one batch) and returns its values, for the
        prefetch of the next level. A failed load is left in the loader's future: the field
        reports it when it is resolved, exactly as without a prefetch."""
        loader = self.loader(loaders)
        pending = [(parent, loader.load(key)) for parent in parents if (key := self.key(parent, args))]
        await asyncio.gather(*(future for _, future in pending), return_exceptions=True)
        values = []
        for parent, future in pending:
            if not _succeeded(future):
                continue
            try:
                values.append(self.finish(loaders, parent, future.result(), args))  # type: ignore[attr-defined]
            except Exception:  # e.g. bad input: the field raises it when resolved
                continue
        return values


def attribute_key(name: str) -> Callable[[Any, Args], Any]:
    """A Loaded key that is the parent's attribute `name`, whatever the arguments."""
    get = operator.attrgetter(name)

    def key(parent: Any, _args: Args) -> Any:
        return get(parent)

    return key


# Resolver function -> how its field is loaded (what `gateway.prefetch` looks up).
LOADED: dict[object, Loaded[Any, Any, Any]] = {}


def loaded_by(spec: Loaded[Any, Any, Any]) -> Callable[[F], F]:
    """Decorator of a resolver that returns `spec.resolve(...)`: lets the prefetch load its
    field for a whole level at once."""

    def register(resolver: F) -> F:
        LOADED[resolver] = spec
        return resolver

    return register
