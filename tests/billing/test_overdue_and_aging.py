"""Overdue: visible at once, stored by the job and by MarkOverdueInvoices; the aging report."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from services.runtime.clock import FixedClock
from tests.billing.helpers import (
    FIXED_NOW,
    TODAY,
    Code,
    Stub,
    create_customer,
    create_invoice,
    credit,
    day,
    days,
    dec,
    get_invoice,
    issue,
    issued_invoice,
    line,
    pay,
    rpc_error,
    violation_fields,
)
from tests.billing.probes import names, only, overdue_job_paused, recorded_events
from tests.runtime.helpers import eventually


async def stored_status(db: asyncpg.Connection, invoice_id: str) -> str:
    return str(await db.fetchval("SELECT status FROM invoices WHERE id = $1", uuid.UUID(invoice_id)))


async def test_overdue_is_visible_at_once_and_the_job_stores_it(
    stub: Stub, db: asyncpg.Connection, billing_clock: FixedClock
) -> None:
    c = await create_customer(stub)
    inv = await issued_invoice(stub, c.id, due_date=day(days(1)))
    assert inv.status == pb.INVOICE_STATUS_SENT
    try:
        async with recorded_events(db, inv.id) as events:
            async with overdue_job_paused(db):
                billing_clock.at = FIXED_NOW + timedelta(days=3)  # two days past due
                assert (await get_invoice(stub, inv.id)).status == pb.INVOICE_STATUS_OVERDUE
                assert await stored_status(db, inv.id) == "sent"  # the job has not run
                overdue = await stub.ListInvoices(
                    api.ListInvoicesRequest(customer_ids=[c.id], statuses=[pb.INVOICE_STATUS_OVERDUE])
                )
                assert [i.id for i in overdue.invoices] == [inv.id]
                sent = await stub.ListInvoices(
                    api.ListInvoicesRequest(customer_ids=[c.id], statuses=[pb.INVOICE_STATUS_SENT])
                )
                assert list(sent.invoices) == []
            # Released: the periodic job (every 0.2 s, on the injected clock) stores it.
            await eventually(lambda: _is(db, inv.id, "overdue"), timeout_s=10)
    finally:
        billing_clock.at = FIXED_NOW
    assert names(events) == ["InvoiceStatusChanged"]
    changed = only(events, "InvoiceStatusChanged")
    assert (changed.old_status, changed.new_status, changed.amount_due.value, changed.version) == (
        pb.INVOICE_STATUS_SENT,
        pb.INVOICE_STATUS_OVERDUE,
        "110.00",
        3,
    )
    assert (await get_invoice(stub, inv.id)).status == pb.INVOICE_STATUS_OVERDUE  # stays overdue


async def _is(db: asyncpg.Connection, invoice_id: str, status: str) -> bool:
    return await stored_status(db, invoice_id) == status


async def test_mark_overdue_invoices_rpc(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    async with overdue_job_paused(db):
        late = await issued_invoice(stub, c.id, invoice_date=day(days(-35)), due_date=day(days(-5)))
        partly = await issued_invoice(stub, c.id, invoice_date=day(days(-35)), due_date=day(days(-1)))
        partly = (await pay(stub, partly, "10.00")).invoice
        not_yet = await issued_invoice(stub, c.id, due_date=day(TODAY))  # due today: not overdue
        assert await stored_status(db, late.id) == "sent"
        before = await stub.MarkOverdueInvoices(api.MarkOverdueInvoicesRequest(as_of_date=day(days(-10))))
        assert late.id not in before.invoice_ids
        async with recorded_events(db, partly.id) as events:
            resp = await stub.MarkOverdueInvoices(api.MarkOverdueInvoicesRequest())
        assert {late.id, partly.id} <= set(resp.invoice_ids) and not_yet.id not in resp.invoice_ids
        assert resp.marked_count == len(resp.invoice_ids)
        assert only(events, "InvoiceStatusChanged").old_status == pb.INVOICE_STATUS_PARTIALLY_PAID
        assert await stored_status(db, late.id) == "overdue"
        again = await stub.MarkOverdueInvoices(api.MarkOverdueInvoicesRequest())
        assert late.id not in again.invoice_ids
    err = await rpc_error(
        stub.MarkOverdueInvoices(api.MarkOverdueInvoicesRequest(as_of_date=day(days(1)))), Code.INVALID_ARGUMENT
    )
    assert violation_fields(err) == ["as_of_date"]
    # An overdue invoice stays overdue when partly paid, and is paid when settled.
    assert (await pay(stub, late, "10.00")).invoice.status == pb.INVOICE_STATUS_OVERDUE
    assert (await pay(stub, late, "100.00")).invoice.status == pb.INVOICE_STATUS_PAID


async def _aged(stub: Stub, customer_id: str, due: date, price: str) -> pb.Invoice:
    """An issued invoice (no tax) dated 30 days before its due date."""
    return await issued_invoice(
        stub,
        customer_id,
        lines=[line("Aged", "1", price)],
        tax_amount=dec("0"),
        invoice_date=day(due - timedelta(days=30)),
        due_date=day(due),
    )


def _buckets(b: pb.AgingBuckets) -> tuple[str, ...]:
    return (
        b.current.value,
        b.days_1_to_30.value,
        b.days_31_to_60.value,
        b.days_61_to_90.value,
        b.days_over_90.value,
        b.total.value,
    )


async def test_aging_report_worked_example(stub: Stub) -> None:
    name = f"Aging {uuid.uuid4().hex[:8]}"
    x = await create_customer(stub, name=f"{name} A")
    y = await create_customer(stub, name=f"{name} B")
    made = {
        due: await _aged(stub, x.id, days(due), price)
        for due, price in [
            (10, "1000.00"),  # current
            (0, "200.00"),  # due today: current
            (-1, "30.00"),  # 1 day past due; credited 10.00 below
            (-30, "4.00"),
            (-31, "500.00"),
            (-60, "60.00"),
            (-61, "7000.00"),
            (-90, "800.00"),
            (-91, "9.00"),
            (-200, "90.00"),  # partly paid 50.00 below
        ]
    }
    await credit(stub, made[-1], "10.00")
    await pay(stub, made[-200], "50.00")
    # Not open, so not aged: cancelled, paid, draft.
    gone = await _aged(stub, x.id, days(-45), "111.00")
    await stub.CancelInvoice(api.CancelInvoiceRequest(id=gone.id, reason="test"))
    await pay(stub, await _aged(stub, x.id, days(-45), "222.00"), "222.00")
    await create_invoice(stub, x.id, invoice_date=day(days(-50)), due_date=day(days(-20)))
    await _aged(stub, y.id, days(-45), "300.00")

    report = (
        await stub.GetAgingReport(api.GetAgingReportRequest(as_of_date=day(TODAY), customer_id=x.id))
    ).aging_report
    assert report.as_of_date == day(TODAY)
    [row] = report.rows
    assert (row.customer_id, row.customer_name, row.invoice_count) == (x.id, x.name, 10)
    assert _buckets(row.buckets) == ("1200.00", "24.00", "560.00", "7800.00", "49.00", "9633.00")
    assert _buckets(report.totals) == _buckets(row.buckets)

    # A month earlier: invoices dated after that day are left out, the rest are younger.
    earlier = (
        await stub.GetAgingReport(api.GetAgingReportRequest(as_of_date=day(days(-31)), customer_id=x.id))
    ).aging_report
    assert earlier.rows[0].invoice_count == 8
    assert _buckets(earlier.rows[0].buckets) == ("524.00", "7060.00", "809.00", "0.00", "40.00", "8433.00")

    # All customers: one row each, ordered by name; totals add every row up.
    everyone = (await stub.GetAgingReport(api.GetAgingReportRequest(as_of_date=day(TODAY)))).aging_report
    mine = [r for r in everyone.rows if r.customer_name.startswith(name)]
    assert [r.customer_name for r in mine] == [x.name, y.name]
    assert _buckets(mine[1].buckets) == ("0.00", "0.00", "300.00", "0.00", "0.00", "300.00")
    names_in_order = [r.customer_name for r in everyone.rows]
    assert names_in_order == sorted(names_in_order)
    assert sum(_cents(r.buckets) for r in everyone.rows) == _cents(everyone.totals)


def _cents(b: pb.AgingBuckets) -> int:
    """The total in cents, checked against the sum of its buckets."""
    parts = [b.current, b.days_1_to_30, b.days_31_to_60, b.days_61_to_90, b.days_over_90]
    cents = sum(int(p.value.replace(".", "")) for p in parts)
    assert cents == int(b.total.value.replace(".", ""))
    return cents


async def test_aging_report_errors(stub: Stub) -> None:
    await rpc_error(stub.GetAgingReport(api.GetAgingReportRequest(customer_id=str(uuid.uuid4()))), Code.NOT_FOUND)
    err = await rpc_error(stub.GetAgingReport(api.GetAgingReportRequest(customer_id="x")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["customer_id"]
    today = (await stub.GetAgingReport(api.GetAgingReportRequest())).aging_report
    assert today.as_of_date == day(TODAY)  # the injected clock's today


async def test_pending_invoice_is_never_overdue(stub: Stub) -> None:
    c = await create_customer(stub)
    draft = await create_invoice(stub, c.id, invoice_date=day(days(-40)), due_date=day(days(-10)))
    assert (await get_invoice(stub, draft.id)).status == pb.INVOICE_STATUS_PENDING
    assert (await issue(stub, draft)).status == pb.INVOICE_STATUS_OVERDUE  # issued late: overdue at once
