"""Event naming and encoding: protobuf bodies, CloudEvents binary-mode headers.

Subject `<root>.<service>.<EventName>` (e.g. `erp.employee.EmployeeCreated`), one stream per
service (`ERP_EMPLOYEE` over `erp.employee.>`), `ce-type` = the message's full name,
`ce-id` = `Nats-Msg-Id` = the event id, so JetStream de-duplicates a re-published event.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import symbol_database
from google.protobuf.message import Message

from services.runtime.context import CallContext, parse_uuid
from services.runtime.settings import SERVICES

CONTENT_TYPE = "application/protobuf"
H_MSG_ID = "Nats-Msg-Id"
H_ID = "ce-id"
H_TYPE = "ce-type"
H_SOURCE = "ce-source"
H_TIME = "ce-time"
H_SUBJECT = "ce-subject"
H_SPEC = "ce-specversion"
H_CONTENT_TYPE = "content-type"
H_CORRELATION = "erp-correlation-id"
H_CAUSATION = "erp-causation-id"
H_USER = "erp-user-id"
H_TRACEPARENT = "traceparent"


def service_of(event_type: str) -> str:
    """`erp.supply_chain.v1.ShipmentDelivered` -> `supply_chain`."""
    return event_type.split(".")[1]


def event_subject(root: str, event_type: str) -> str:
    return f"{root}.{service_of(event_type)}.{event_type.rsplit('.', 1)[1]}"


def stream_name(root: str, service: str) -> str:
    return f"{root.upper()}_{service.upper()}"


def stream_subjects(root: str, service: str) -> str:
    return f"{root}.{service}.>"


def dlq_stream_name(root: str) -> str:
    return f"{root.upper()}_DLQ"


def dlq_subject(root: str, consumer: str) -> str:
    return f"{root}.dlq.{consumer}"


def build_headers(
    *, event_id: uuid.UUID, event_type: str, aggregate_id: str, ctx: CallContext, occurred_at: datetime
) -> dict[str, str]:
    headers = {
        H_MSG_ID: str(event_id),
        H_SPEC: "1.0",
        H_ID: str(event_id),
        H_TYPE: event_type,
        H_SOURCE: f"/erp/{service_of(event_type)}",
        H_TIME: occurred_at.astimezone(UTC).isoformat(),
        H_SUBJECT: aggregate_id,
        H_CONTENT_TYPE: CONTENT_TYPE,
    }
    if ctx.correlation_id:
        headers[H_CORRELATION] = str(ctx.correlation_id)
    if ctx.causation_id:
        headers[H_CAUSATION] = str(ctx.causation_id)
    if ctx.user_id:
        headers[H_USER] = str(ctx.user_id)
    if ctx.traceparent:
        headers[H_TRACEPARENT] = ctx.traceparent
    return headers


@dataclass(frozen=True)
class ReceivedEvent:
    """An event as a consumer sees it: decoded message plus its metadata."""

    event_id: uuid.UUID
    event_type: str
    source_service: str
    aggregate_id: str
    message: Message
    headers: dict[str, str]

    def call_context(self) -> CallContext:
        """The context a handler runs in: same correlation, caused by this event."""
        return CallContext(
            user_id=parse_uuid(self.headers.get(H_USER)),
            correlation_id=parse_uuid(self.headers.get(H_CORRELATION)),
            causation_id=self.event_id,
            traceparent=self.headers.get(H_TRACEPARENT),
        )


class UnknownEvent(Exception):
    """Headers name a type this process does not know."""


def load_event_modules() -> None:
    """Import every service's events_pb2 so the symbol database can decode any event."""
    for service in SERVICES:
        try:
            importlib.import_module(f"erp.{service}.v1.events_pb2")
        except ModuleNotFoundError:
            continue


def message_class(event_type: str) -> type[Message]:
    try:
        return symbol_database.Default().GetSymbol(event_type)
    except KeyError:
        load_event_modules()
        try:
            return symbol_database.Default().GetSymbol(event_type)
        except KeyError:
            raise UnknownEvent(event_type) from None


def decode(headers: dict[str, str], payload: bytes) -> ReceivedEvent:
    event_type = headers.get(H_TYPE, "")
    event_id = parse_uuid(headers.get(H_ID) or headers.get(H_MSG_ID))
    if not event_type or event_id is None:
        raise UnknownEvent("message without ce-type/ce-id headers")
    cls = message_class(event_type)
    message = cls()
    message.ParseFromString(payload)
    return ReceivedEvent(
        event_id=event_id,
        event_type=event_type,
        source_service=service_of(event_type),
        aggregate_id=headers.get(H_SUBJECT, ""),
        message=message,
        headers=headers,
    )
