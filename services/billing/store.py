"""Billing data access shared by the API modules: gap-free numbers, customer balances, lines,
and the SQL form of the effective (read-time overdue) status."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.billing import domain
from services.billing.tables import Customer, Invoice, InvoiceLineItem
from services.runtime.repository import get_or_404

INVOICE_PREFIX = "INV"
CREDIT_NOTE_PREFIX = "CN"


async def lock_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    """Lock order everywhere: the invoice first, then its customer (no deadlocks)."""
    return await get_or_404(session, Customer, customer_id, "customer", lock=True)


async def open_balance(session: AsyncSession, customer_id: uuid.UUID) -> Decimal:
    """Sum of the amounts due of the customer's open (issued, unsettled) invoices."""
    await session.flush()
    stmt = select(func.coalesce(func.sum(Invoice.amount_due), 0)).where(
        Invoice.customer_id == customer_id, Invoice.status.in_(sorted(domain.OPEN_STATUSES))
    )
    return Decimal((await session.execute(stmt)).scalar_one())


async def refresh_balance(session: AsyncSession, customer: Customer) -> None:
    """Set current_balance to the sum of the open invoices' amounts due, in the caller's transaction
    (the customer row must be locked). A derived figure: it does not change the customer's version."""
    customer.current_balance = await open_balance(session, customer.id)


async def lines_of(session: AsyncSession, invoice_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[InvoiceLineItem]]:
    out: dict[uuid.UUID, list[InvoiceLineItem]] = defaultdict(list)
    if not invoice_ids:
        return out
    stmt = (
        select(InvoiceLineItem)
        .where(InvoiceLineItem.invoice_id.in_(set(invoice_ids)))
        .order_by(InvoiceLineItem.invoice_id, InvoiceLineItem.line_number)
    )
    for line in (await session.execute(stmt)).scalars():
        out[line.invoice_id].append(line)
    return out


def effective_status_sql(
    status: InstrumentedAttribute[str], due_date: InstrumentedAttribute[date], today: date
) -> ColumnElement[Any]:
    """SQL twin of domain.effective_status, for filtering by the status readers see."""
    return case(
        (and_(status.in_(sorted(domain.AGEABLE_STATUSES)), due_date < today), domain.InvoiceStatus.OVERDUE.value),
        else_=status,
    )
