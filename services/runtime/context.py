"""Who is calling and why: carried in contextvars through a request or an event handler.

The gRPC layer fills it from metadata, the consumer from the event's headers; the unit of
work copies it into every event it records (user id, correlation and causation ids, trace).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CallContext:
    user_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    traceparent: str | None = None


_current: ContextVar[CallContext] = ContextVar("erp_call_context", default=CallContext())


def current() -> CallContext:
    return _current.get()


def caller_id() -> uuid.UUID | None:
    """The user making the call (gRPC metadata x-erp-user-id), None when anonymous or the system."""
    return _current.get().user_id


@contextlib.contextmanager
def bound(ctx: CallContext) -> Iterator[CallContext]:
    """Bind `ctx` for the duration of a block; a correlation id is created when missing."""
    if ctx.correlation_id is None:
        ctx = replace(ctx, correlation_id=uuid.uuid4())
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def parse_uuid(value: str | bytes | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value.decode() if isinstance(value, bytes) else value)
    except ValueError:
        return None
