"""Storing OVERDUE: the MarkOverdueInvoices RPC and the periodic job share `mark_overdue`.

Readers never wait for it (an open invoice past due already reads as OVERDUE, see
domain.effective_status); storing the status gives the transition its InvoiceStatusChanged event
and keeps filters on the stored column honest. The job runs on one replica at a time
(`leader_lock`) and uses the injected clock for "today".
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import select

from services.billing import domain, events
from services.billing.read_model import mark_stale
from services.billing.tables import Invoice
from services.runtime.db import UnitOfWork
from services.runtime.jobs import leader_lock, periodic
from services.runtime.service import BackgroundJob, ServiceDeps

log = logging.getLogger(__name__)

JOB_BATCH = 500


async def mark_overdue(uow: UnitOfWork, as_of: date, now: datetime, *, limit: int | None = None) -> list[Invoice]:
    """Move SENT/PARTIALLY_PAID invoices due before `as_of` to OVERDUE, one event each. Rows
    locked by a concurrent payment are skipped (the next run takes them)."""
    stmt = (
        select(Invoice)
        .where(Invoice.status.in_(sorted(domain.AGEABLE_STATUSES)), Invoice.due_date < as_of)
        .order_by(Invoice.due_date, Invoice.id)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list((await uow.session.execute(stmt)).scalars())
    previous = {row.id: row.status for row in rows}
    for row in rows:
        row.status = domain.InvoiceStatus.OVERDUE
        row.version += 1
        row.updated_at = now
    if rows:
        await uow.session.flush()
        for row in rows:
            events.record_invoice_event(uow, row, events.invoice_status_changed(row, previous[row.id]))
        await mark_stale(uow.session)
    return rows


def overdue_job(deps: ServiceDeps, interval_s: float) -> BackgroundJob:
    async def work() -> None:
        async with leader_lock(deps.db, "mark-overdue") as leader:
            if not leader:
                return
            async with deps.db.unit_of_work() as uow:
                marked = await mark_overdue(uow, deps.clock.today(), deps.clock.now(), limit=JOB_BATCH)
            if marked:
                log.info("marked %d invoices overdue", len(marked))

    return periodic(interval_s, work, "billing-mark-overdue")
