"""Root subscription fields, fed by the services' JetStream events through the hub.

Each field names the events it follows and filters them by its arguments; its payload carries
the event's own values plus the entity the event is about, resolved with the same loaders as a
query (fresh for each event), so a subscriber may select cross-service fields of it.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from erp.accounting.v1 import events_pb2 as accounting_events
from erp.billing.v1 import events_pb2 as billing_events
from erp.employee.v1 import employee_service_pb2 as employee_api
from erp.employee.v1 import events_pb2 as employee_events
from erp.finance.v1 import events_pb2 as finance_events
from erp.inventory.v1 import events_pb2 as inventory_events
from erp.supply_chain.v1 import supply_chain_service_pb2 as supply_chain_api
from graphql import GraphQLError
from starlette.websockets import WebSocket

from gateway.context import GatewayInfo, event_scope
from gateway.subscriptions.hub import SLOW_CLOSE_CODE, Delivery
from gateway.types.budget import Budget
from gateway.types.customer import Customer
from gateway.types.employee import Employee
from gateway.types.inventory_item import InventoryItem
from gateway.types.invoice import INVOICE_STATUS, Invoice, InvoiceStatus
from gateway.types.journal_entry import JournalEntry
from gateway.types.shipment import TRACKING_STATUS, Shipment, TrackingStatus
from gateway.wire import amount_of, date_of, datetime_of
from services.runtime import context
from services.runtime.events import H_TIME, ReceivedEvent

log = logging.getLogger(__name__)

EMPLOYEE_EVENTS = ("EmployeeCreated", "EmployeeUpdated", "EmployeeTerminated", "EmployeeRehired")


def occurred_at(event: ReceivedEvent) -> datetime | None:
    raw = event.headers.get(H_TIME)
    if not raw:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(raw)
    return None


async def _close_slow(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=SLOW_CLOSE_CODE, reason=reason[:120])


async def events(
    info: GatewayInfo, names: Sequence[str], accept: Callable[[Delivery], Awaitable[bool]]
) -> AsyncGenerator[ReceivedEvent, None]:
    """The events named (`employee.EmployeeCreated`, ...) that `accept` wants, each yielded inside
    its own resolution scope (fresh loaders; the event's correlation id and trace)."""
    ctx = info.context
    hub = ctx.hub
    if hub is None or not hub.available:
        raise GraphQLError(
            "subscriptions are unavailable: the gateway has no connection to NATS",
            extensions={"code": "SUBSCRIPTIONS_UNAVAILABLE"},
        )
    websocket = ctx.request if isinstance(ctx.request, WebSocket) else None

    def overflow(reason: str) -> None:
        if websocket is not None:
            hub.spawn(_close_slow(websocket, reason))

    subscriber = await hub.subscribe(names, accept, overflow)
    caller = context.current()
    try:
        async for delivery in subscriber:
            event = delivery.event
            received = event.call_context()
            call = replace(caller, correlation_id=received.correlation_id, traceparent=received.traceparent)
            with event_scope(ctx, replace(call, causation_id=event.event_id)):
                yield event
    finally:
        hub.remove(subscriber)


# ---- employeeChanged --------------------------------------------------------------------------


@strawberry.enum(description="What happened to the employee.")
class EmployeeChange(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    TERMINATED = "TERMINATED"
    REHIRED = "REHIRED"


CHANGES = {
    "EmployeeCreated": EmployeeChange.CREATED,
    "EmployeeUpdated": EmployeeChange.UPDATED,
    "EmployeeTerminated": EmployeeChange.TERMINATED,
    "EmployeeRehired": EmployeeChange.REHIRED,
}


def _event_department(message: Any) -> str | None:
    """The department an employee event names, if it names one."""
    if isinstance(message, (employee_events.EmployeeCreated, employee_events.EmployeeRehired)):
        return message.department_id
    if isinstance(message, employee_events.EmployeeUpdated) and message.HasField("department_id"):
        return message.department_id
    return None


@strawberry.type(description="An employee was hired, changed, terminated or rehired.")
class EmployeeChangedEvent:
    event_id: strawberry.ID
    change: EmployeeChange
    occurred_at: datetime | None
    employee_id: strawberry.ID
    department_id: strawberry.ID | None = strawberry.field(
        description="The employee's department after the change (null when none)."
    )
    changed_fields: list[str] = strawberry.field(description="For UPDATED: the fields that changed.")
    version: int

    @strawberry.field(description="The employee now (null if it cannot be read).")
    async def employee(self, info: GatewayInfo) -> Employee | None:
        message = await info.context.loaders.employee.employees.load(self.employee_id)
        return None if message is None else Employee.from_proto(message)


# ---- journalEntryPosted -----------------------------------------------------------------------


@strawberry.type(description="A journal entry was posted to the ledger.")
class JournalEntryPostedEvent:
    event_id: strawberry.ID
    occurred_at: datetime | None
    journal_entry_id: strawberry.ID
    journal_number: str
    entry_date: date | None
    source_service: str
    source_id: strawberry.ID | None
    total_amount: Decimal
    account_codes: list[str] = strawberry.field(description="The accounts its lines post to.")

    @strawberry.field(description="The entry, with its lines and source (null if it cannot be read).")
    async def journal_entry(self, info: GatewayInfo) -> JournalEntry | None:
        message = await info.context.loaders.accounting.journal_entries.load(self.journal_entry_id)
        return None if message is None else JournalEntry.from_proto(message)


# ---- invoiceStatusChanged ---------------------------------------------------------------------


@strawberry.type(description="An invoice's status changed.")
class InvoiceStatusChangedEvent:
    event_id: strawberry.ID
    occurred_at: datetime | None
    invoice_id: strawberry.ID
    invoice_number: str
    customer_id: strawberry.ID
    old_status: InvoiceStatus | None
    new_status: InvoiceStatus
    amount_due: Decimal
    version: int

    @strawberry.field(description="The invoice now (null if it cannot be read).")
    async def invoice(self, info: GatewayInfo) -> Invoice | None:
        message = await info.context.loaders.billing.invoices.load(self.invoice_id)
        return None if message is None else Invoice.from_proto(message)

    @strawberry.field(description="The customer billed (null if it cannot be read).")
    async def customer(self, info: GatewayInfo) -> Customer | None:
        message = await info.context.loaders.billing.customers.load(self.customer_id)
        return None if message is None else Customer.from_proto(message)


# ---- stockLevelChanged ------------------------------------------------------------------------


@strawberry.type(description="An item's stock levels changed.")
class StockLevelChangedEvent:
    event_id: strawberry.ID
    occurred_at: datetime | None
    item_id: strawberry.ID
    sku: str
    quantity_on_hand: int
    quantity_reserved: int
    quantity_available: int
    quantity_on_order: int
    version: int

    @strawberry.field(description="The item now (null if it cannot be read).")
    async def item(self, info: GatewayInfo) -> InventoryItem | None:
        message = await info.context.loaders.inventory.items.load(self.item_id)
        return None if message is None else InventoryItem.from_proto(message)


# ---- shipmentTracking -------------------------------------------------------------------------

TRACKING_EVENTS = {
    "ShipmentDispatched": TrackingStatus.DISPATCHED,
    "ShipmentTrackingUpdated": None,  # the event's own status
    "ShipmentDelivered": TrackingStatus.DELIVERED,
    "ShipmentReturned": TrackingStatus.RETURNED,
    "ShipmentLost": TrackingStatus.LOST,
    "ShipmentCancelled": TrackingStatus.CANCELLED,
}


@strawberry.type(description="A shipment was dispatched, tracked, delivered, returned, lost or cancelled.")
class ShipmentTrackingEvent:
    event_id: strawberry.ID
    occurred_at: datetime | None
    shipment_id: strawberry.ID
    shipment_number: str
    tracking_number: str
    status: TrackingStatus
    location: str | None
    notes: str | None
    event_time: datetime | None

    @strawberry.field(description="The shipment now, with its items and history (null if it cannot be read).")
    async def shipment(self, info: GatewayInfo) -> Shipment | None:
        message = await info.context.loaders.supply_chain.shipments.load(self.shipment_id)
        return None if message is None else Shipment.from_proto(message)


# ---- budgetExceeded ---------------------------------------------------------------------------


@strawberry.type(description="A budget's spending went over its allocation.")
class BudgetExceededEvent:
    event_id: strawberry.ID
    occurred_at: datetime | None
    budget_id: strawberry.ID
    department: str
    category: str
    fiscal_year: int
    quarter: int
    allocated_amount: Decimal
    spent_amount: Decimal
    overrun_amount: Decimal

    @strawberry.field(description="The budget now (null if it cannot be read).")
    async def budget(self, info: GatewayInfo) -> Budget | None:
        message = await info.context.loaders.finance.budgets.load(self.budget_id)
        return None if message is None else Budget.from_proto(message)


def _status(value: int) -> InvoiceStatus | None:
    return INVOICE_STATUS.from_pb(value) if value else None


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Employees hired, changed, terminated or rehired; only those of `departmentId` when given "
        "(the department after the change)."
    )
    async def employee_changed(
        self, info: GatewayInfo, department_id: strawberry.ID | None = None
    ) -> AsyncGenerator[EmployeeChangedEvent, None]:
        clients = info.context.clients

        async def department_of(delivery: Delivery) -> str | None:
            named = _event_department(delivery.event.message)
            if named is not None:
                return named or None

            async def current() -> str | None:
                request = employee_api.BatchGetEmployeesRequest(ids=[delivery.event.aggregate_id])
                response = await clients.employee.call(lambda s: s.BatchGetEmployees(request))
                return response.employees[0].department_id or None if response.employees else None

            department: str | None = await delivery.fact("department_id", current)
            return department

        async def accept(delivery: Delivery) -> bool:
            return department_id is None or await department_of(delivery) == department_id

        async for event in events(info, [f"employee.{name}" for name in EMPLOYEE_EVENTS], accept):
            message: Any = event.message
            department = department_id or _event_department(message)
            yield EmployeeChangedEvent(
                event_id=strawberry.ID(str(event.event_id)),
                change=CHANGES[event.event_type.rsplit(".", 1)[1]],
                occurred_at=occurred_at(event),
                employee_id=strawberry.ID(message.employee_id),
                department_id=strawberry.ID(department) if department else None,
                changed_fields=list(getattr(message, "changed_fields", ())),
                version=message.version,
            )

    @strawberry.subscription(description="Journal entries posted; only those with a line on `accountCode` when given.")
    async def journal_entry_posted(
        self, info: GatewayInfo, account_code: str | None = None
    ) -> AsyncGenerator[JournalEntryPostedEvent, None]:
        async def accept(delivery: Delivery) -> bool:
            message: Any = delivery.event.message
            return account_code is None or any(line.account_code == account_code for line in message.lines)

        async for event in events(info, ["accounting.JournalEntryPosted"], accept):
            m: accounting_events.JournalEntryPosted = event.message  # type: ignore[assignment]
            yield JournalEntryPostedEvent(
                event_id=strawberry.ID(str(event.event_id)),
                occurred_at=occurred_at(event),
                journal_entry_id=strawberry.ID(m.journal_entry_id),
                journal_number=m.journal_number,
                entry_date=date_of(m.entry_date),
                source_service=m.source_service,
                source_id=strawberry.ID(m.source_id) if m.source_id else None,
                total_amount=amount_of(m.total_amount),
                account_codes=list(dict.fromkeys(line.account_code for line in m.lines)),
            )

    @strawberry.subscription(description="Invoice status changes; only those of `customerId` when given.")
    async def invoice_status_changed(
        self, info: GatewayInfo, customer_id: strawberry.ID | None = None
    ) -> AsyncGenerator[InvoiceStatusChangedEvent, None]:
        async def accept(delivery: Delivery) -> bool:
            message: Any = delivery.event.message
            return customer_id is None or message.customer_id == customer_id

        async for event in events(info, ["billing.InvoiceStatusChanged"], accept):
            m: billing_events.InvoiceStatusChanged = event.message  # type: ignore[assignment]
            yield InvoiceStatusChangedEvent(
                event_id=strawberry.ID(str(event.event_id)),
                occurred_at=occurred_at(event),
                invoice_id=strawberry.ID(m.invoice_id),
                invoice_number=m.invoice_number,
                customer_id=strawberry.ID(m.customer_id),
                old_status=_status(m.old_status),
                new_status=INVOICE_STATUS.from_pb(m.new_status),
                amount_due=amount_of(m.amount_due),
                version=m.version,
            )

    @strawberry.subscription(description="Stock level changes; only those of `sku` when given.")
    async def stock_level_changed(
        self, info: GatewayInfo, sku: str | None = None
    ) -> AsyncGenerator[StockLevelChangedEvent, None]:
        async def accept(delivery: Delivery) -> bool:
            message: Any = delivery.event.message
            return sku is None or message.sku == sku

        async for event in events(info, ["inventory.StockLevelChanged"], accept):
            m: inventory_events.StockLevelChanged = event.message  # type: ignore[assignment]
            yield StockLevelChangedEvent(
                event_id=strawberry.ID(str(event.event_id)),
                occurred_at=occurred_at(event),
                item_id=strawberry.ID(m.item_id),
                sku=m.sku,
                quantity_on_hand=m.quantity_on_hand,
                quantity_reserved=m.quantity_reserved,
                quantity_available=m.quantity_available,
                quantity_on_order=m.quantity_on_order,
                version=m.version,
            )

    @strawberry.subscription(
        description="The tracking of the shipment with `trackingNumber`: dispatch, tracking events, delivery, "
        "return, loss or cancellation."
    )
    async def shipment_tracking(
        self, info: GatewayInfo, tracking_number: str
    ) -> AsyncGenerator[ShipmentTrackingEvent, None]:
        clients = info.context.clients

        async def tracking_of(delivery: Delivery) -> str:
            named: str = getattr(delivery.event.message, "tracking_number", "")
            if named:
                return named

            async def current() -> str:
                request = supply_chain_api.BatchGetShipmentsRequest(ids=[delivery.event.aggregate_id])
                response = await clients.supply_chain.call(lambda s: s.BatchGetShipments(request))
                return response.shipments[0].tracking_number if response.shipments else ""

            found: str = await delivery.fact("tracking_number", current)
            return found

        async def accept(delivery: Delivery) -> bool:
            return await tracking_of(delivery) == tracking_number

        async for event in events(info, [f"supply_chain.{name}" for name in TRACKING_EVENTS], accept):
            m: Any = event.message
            kind = event.event_type.rsplit(".", 1)[1]
            status = TRACKING_EVENTS[kind] or TRACKING_STATUS.from_pb(m.status)
            yield ShipmentTrackingEvent(
                event_id=strawberry.ID(str(event.event_id)),
                occurred_at=occurred_at(event),
                shipment_id=strawberry.ID(m.shipment_id),
                shipment_number=m.shipment_number,
                tracking_number=tracking_number,
                status=status,
                location=getattr(m, "location", "") or None,
                notes=(getattr(m, "notes", "") or getattr(m, "reason", "")) or None,
                event_time=datetime_of(m, "event_time") if kind == "ShipmentTrackingUpdated" else occurred_at(event),
            )

    @strawberry.subscription(description="Budgets going over their allocation; only those of `department` when given.")
    async def budget_exceeded(
        self, info: GatewayInfo, department: str | None = None
    ) -> AsyncGenerator[BudgetExceededEvent, None]:
        async def accept(delivery: Delivery) -> bool:
            message: Any = delivery.event.message
            return department is None or message.department == department

        async for event in events(info, ["finance.BudgetExceeded"], accept):
            m: finance_events.BudgetExceeded = event.message  # type: ignore[assignment]
            yield BudgetExceededEvent(
                event_id=strawberry.ID(str(event.event_id)),
                occurred_at=occurred_at(event),
                budget_id=strawberry.ID(m.budget_id),
                department=m.department,
                category=m.category,
                fiscal_year=m.fiscal_year,
                quarter=m.quarter,
                allocated_amount=amount_of(m.allocated_amount),
                spent_amount=amount_of(m.spent_amount),
                overrun_amount=amount_of(m.overrun_amount),
            )
