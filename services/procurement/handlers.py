"""What procurement does on other services' events.

- inventory's ReorderPointReached: create a PENDING purchase order (one line: the SKU, the
  reorder quantity at the unit cost) to the item's preferred vendor, created by the system
  (created_by empty), notes "auto-reorder"; once per crossing: nothing while an open
  auto-reorder order for the SKU exists (an advisory lock per SKU and a partial unique index
  make that hold under concurrency). No preferred vendor, a vendor that is not active or a
  malformed event create nothing and say why in the handler's result (processed_events.result).
- accounting's JournalEntryPosted for a procurement source: link the journal entry to the order
  (accounting_transaction_id, first posting only).

Each handler runs in the consumer's unit of work (its effects and the processed_events row
commit together) and returns a small result stored with the processed event.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any

from erp.accounting.v1 import events_pb2 as accounting_ev
from erp.inventory.v1 import events_pb2 as inventory_ev
from sqlalchemy import select

from services.procurement import domain, store
from services.procurement.pricing import ZERO, LineInput, validate_line
from services.procurement.purchasing import OrderDraft, create_order
from services.procurement.tables import PurchaseOrder, Vendor
from services.runtime.consumer import Handler
from services.runtime.convert import money_from_pb
from services.runtime.db import UnitOfWork
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

REORDER_POINT_REACHED = "erp.inventory.v1.ReorderPointReached"
JOURNAL_ENTRY_POSTED = "erp.accounting.v1.JournalEntryPosted"
SOURCE_SERVICE = "procurement"

# Item fields as the event names them, for the reasons a crossing creates no order.
EVENT_FIELDS = {"quantity": "reorder_quantity", "unit_price": "unit_cost"}

log = logging.getLogger(__name__)


def reorder_draft(msg: inventory_ev.ReorderPointReached, today: date) -> OrderDraft | str:
    """The auto-reorder to create, or why none can be (plain rules, no I/O)."""
    sku = msg.sku.strip()
    if not msg.preferred_vendor_id:
        return "the item has no preferred vendor"
    try:
        vendor_id = uuid.UUID(msg.preferred_vendor_id)
    except ValueError:
        return "preferred_vendor_id is not a UUID"
    try:
        unit_cost = money_from_pb(msg.unit_cost, "unit_cost")
    except InvalidArgument as exc:
        return exc.message
    assert unit_cost is not None
    description = f"Auto-reorder of {sku}: {msg.quantity_available} available, reorder point {msg.reorder_point}"
    v = Validator()
    validate_line(v, sku, description, msg.reorder_quantity, unit_cost, "")
    if v.violations:
        return "; ".join(f"{EVENT_FIELDS.get(f.field, f.field)} {f.description}" for f in v.violations)
    return OrderDraft(
        vendor_id=vendor_id,
        order_date=today,
        expected_delivery_date=None,
        tax_amount=ZERO,
        shipping_cost=ZERO,
        notes=domain.AUTO_REORDER_NOTE,
        requesting_department=None,
        lines=[LineInput(sku, description, msg.reorder_quantity, unit_cost)],
        created_by=None,
        auto_reorder_sku=sku,
    )


def _skipped(sku: str, reason: str, **extra: str) -> dict[str, Any]:
    log.info("no auto-reorder for %s: %s", sku, reason)
    return {"created": False, "sku": sku, "reason": reason, **extra}


async def auto_reorder(
    uow: UnitOfWork, msg: inventory_ev.ReorderPointReached, today: date, now: datetime
) -> dict[str, Any]:
    draft = reorder_draft(msg, today)
    if isinstance(draft, str):
        return _skipped(msg.sku, draft)
    vendor = await uow.session.get(Vendor, draft.vendor_id)
    if vendor is None:
        return _skipped(msg.sku, f"preferred vendor {draft.vendor_id} does not exist")
    if vendor.status != domain.VendorStatus.ACTIVE:
        return _skipped(msg.sku, f"preferred vendor {vendor.id} is {vendor.status}")
    sku = draft.auto_reorder_sku or ""
    await store.lock_auto_reorder(uow.session, sku)
    existing = await store.open_auto_reorder(uow.session, sku)
    if existing is not None:
        return _skipped(
            sku,
            "an open auto-reorder purchase order already exists",
            purchase_order_id=str(existing.id),
            po_number=existing.po_number,
        )
    order, _ = await create_order(uow, draft, now)
    log.info("auto-reorder %s created for %s", order.po_number, sku)
    return {"created": True, "sku": sku, "purchase_order_id": str(order.id), "po_number": order.po_number}


async def link_journal_entry(
    uow: UnitOfWork, msg: accounting_ev.JournalEntryPosted, now: datetime
) -> dict[str, Any] | None:
    """Remember the first journal entry accounting posted for an order's receipts."""
    if msg.source_service != SOURCE_SERVICE or msg.reversal_of_id:
        return None
    try:
        entry_id = uuid.UUID(msg.journal_entry_id)
    except ValueError:
        return {"ignored": "journal_entry_id is not a UUID"}
    stmt = select(PurchaseOrder).with_for_update()
    try:
        stmt = stmt.where(PurchaseOrder.id == uuid.UUID(msg.source_id))
    except ValueError:
        stmt = stmt.where(PurchaseOrder.po_number == msg.reference)
    order = (await uow.session.execute(stmt)).scalar_one_or_none()
    if order is None and msg.reference:
        by_number = select(PurchaseOrder).where(PurchaseOrder.po_number == msg.reference).with_for_update()
        order = (await uow.session.execute(by_number)).scalar_one_or_none()
    if order is None:
        return {"ignored": "no purchase order matches the entry's source"}
    if order.accounting_transaction_id is not None:
        return {"purchase_order_id": str(order.id), "already_linked": str(order.accounting_transaction_id)}
    order.accounting_transaction_id = entry_id
    order.version += 1
    order.updated_at = now
    return {"purchase_order_id": str(order.id), "linked": str(entry_id)}


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    async def on_reorder_point_reached(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any] | None:
        msg = event.message
        assert isinstance(msg, inventory_ev.ReorderPointReached)
        return await auto_reorder(uow, msg, deps.clock.today(), deps.clock.now())

    async def on_journal_entry_posted(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any] | None:
        msg = event.message
        assert isinstance(msg, accounting_ev.JournalEntryPosted)
        return await link_journal_entry(uow, msg, deps.clock.now())

    return {
        REORDER_POINT_REACHED: on_reorder_point_reached,
        JOURNAL_ENTRY_POSTED: on_journal_entry_posted,
    }
