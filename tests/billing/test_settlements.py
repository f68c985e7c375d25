"""Payments and credit notes: partial to paid, over-payment, credit rules, events and balances."""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from tests.billing.helpers import (
    Code,
    Stub,
    create_customer,
    create_invoice,
    credit,
    day,
    days,
    dec,
    get_customer,
    get_invoice,
    issued_invoice,
    line,
    pay,
    rpc_error,
    violation_fields,
)
from tests.billing.probes import names, only, recorded_events, rejected


async def test_partial_payments_up_to_paid(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    inv = await issued_invoice(stub, c.id, lines=[line("Service", "1", "900.00")], tax_amount=dec("100.00"))
    async with recorded_events(db, inv.id) as events:
        first = await pay(stub, inv, "400.00", payment_method=pb.PAYMENT_METHOD_CHECK, reference="CHK-7")
    assert (first.invoice.status, first.invoice.paid_amount.value, first.invoice.amount_due.value) == (
        pb.INVOICE_STATUS_PARTIALLY_PAID,
        "400.00",
        "600.00",
    )
    assert (first.payment.amount.value, first.payment.payment_method, first.payment.reference) == (
        "400.00",
        pb.PAYMENT_METHOD_CHECK,
        "CHK-7",
    )
    assert (await get_customer(stub, c.id)).current_balance.value == "600.00"
    assert names(events) == ["PaymentRecorded", "InvoiceStatusChanged"]
    recorded = only(events, "PaymentRecorded")
    assert (recorded.payment_id, recorded.invoice_id, recorded.invoice_number, recorded.customer_id) == (
        first.payment.id,
        inv.id,
        inv.invoice_number,
        c.id,
    )
    assert (recorded.amount.value, recorded.invoice_paid_amount.value, recorded.invoice_status) == (
        "400.00",
        "400.00",
        pb.INVOICE_STATUS_PARTIALLY_PAID,
    )
    assert recorded.payment_method == pb.PAYMENT_METHOD_CHECK and recorded.payment_date == first.payment.payment_date
    assert recorded.invoice_version == first.invoice.version == 3

    async with recorded_events(db, inv.id) as events:
        second = await pay(stub, first.invoice, "100.00", version=first.invoice.version)
    assert second.invoice.status == pb.INVOICE_STATUS_PARTIALLY_PAID
    assert names(events) == ["PaymentRecorded"]  # no status change, no InvoiceStatusChanged

    async with recorded_events(db, inv.id) as events:
        last = await pay(stub, inv, "500.00")
    assert (last.invoice.status, last.invoice.amount_due.value, last.invoice.paid_amount.value) == (
        pb.INVOICE_STATUS_PAID,
        "0.00",
        "1000.00",
    )
    assert names(events) == ["PaymentRecorded", "InvoiceStatusChanged"]
    done = only(events, "InvoiceStatusChanged")
    assert (done.old_status, done.new_status, done.amount_due.value) == (
        pb.INVOICE_STATUS_PARTIALLY_PAID,
        pb.INVOICE_STATUS_PAID,
        "0.00",
    )
    assert (await get_customer(stub, c.id)).current_balance.value == "0.00"
    listed = await stub.ListPayments(api.ListPaymentsRequest(invoice_ids=[inv.id]))
    assert sorted(p.amount.value for p in listed.payments) == ["100.00", "400.00", "500.00"]
    by_customer = await stub.ListPayments(api.ListPaymentsRequest(customer_id=c.id, payment_methods=[3]))
    assert [p.reference for p in by_customer.payments] == ["CHK-7"]


async def test_over_payment_is_invalid_and_writes_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    inv = await issued_invoice(stub, c.id)  # 110.00
    await pay(stub, inv, "60.00")
    keep = {"customers": (c.id,), "invoices": (inv.id,)}
    err = await rejected(db, lambda: pay(stub, inv, "50.01"), Code.INVALID_ARGUMENT, fields=("amount",), **keep)
    assert "50.00" in err.details()
    for bad in ("0", "-5.00", "0.001", "abc"):
        await rejected(db, lambda bad=bad: pay(stub, inv, bad), Code.INVALID_ARGUMENT, fields=("amount",), **keep)
    await rejected(
        db,
        lambda: pay(stub, inv, "1.00", payment_date=day(days(1))),
        Code.INVALID_ARGUMENT,
        fields=("payment_date",),
        **keep,
    )
    await rejected(
        db, lambda: pay(stub, inv, "1.00", payment_method=99), Code.INVALID_ARGUMENT, fields=("payment_method",), **keep
    )
    await rejected(db, lambda: pay(stub, inv, "1.00", version=1), Code.ABORTED, **keep)
    await rejected(db, lambda: pay(stub, inv, "1.00", payment_date=None), Code.INVALID_ARGUMENT, **keep)
    await rejected(
        db,
        lambda: stub.RecordPayment(
            api.RecordPaymentRequest(invoice_id=str(uuid.uuid4()), payment_date=day(days(0)), amount=dec("1"))
        ),
        Code.NOT_FOUND,
    )
    assert (await get_invoice(stub, inv.id)).paid_amount.value == "60.00"


async def test_payments_only_for_issued_open_invoices(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    draft = await create_invoice(stub, c.id)
    err = await rejected(db, lambda: pay(stub, draft, "1.00"), Code.FAILED_PRECONDITION, invoices=(draft.id,))
    assert "pending" in err.details()
    paid = await issued_invoice(stub, c.id)
    await pay(stub, paid, "110.00")
    await rejected(db, lambda: pay(stub, paid, "1.00"), Code.FAILED_PRECONDITION, invoices=(paid.id,))
    cancelled = await issued_invoice(stub, c.id)
    await stub.CancelInvoice(api.CancelInvoiceRequest(id=cancelled.id, reason="wrong customer"))
    await rejected(db, lambda: pay(stub, cancelled, "1.00"), Code.FAILED_PRECONDITION, invoices=(cancelled.id,))


async def test_credit_notes_reduce_the_amount_due_and_can_settle(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    inv = await issued_invoice(stub, c.id, lines=[line("Goods", "10", "20.00")], tax_amount=dec("20.00"))  # 220
    async with recorded_events(db, inv.id) as events:
        first = await credit(stub, inv, "50.00", "5.00")
    note = first.credit_note
    assert re.match(r"^CN-2025-\d{6}$", note.credit_note_number)
    assert (note.amount.value, note.tax_amount.value, note.total_amount.value, note.customer_id) == (
        "50.00",
        "5.00",
        "55.00",
        c.id,
    )
    assert (first.invoice.credit_amount.value, first.invoice.amount_due.value, first.invoice.status) == (
        "55.00",
        "165.00",
        pb.INVOICE_STATUS_SENT,  # a credit is not a payment
    )
    assert (await get_customer(stub, c.id)).current_balance.value == "165.00"
    assert names(events) == ["CreditNoteIssued"]
    issued = only(events, "CreditNoteIssued")
    assert (issued.credit_note_id, issued.credit_note_number, issued.invoice_number, issued.customer_id) == (
        note.id,
        note.credit_note_number,
        inv.invoice_number,
        c.id,
    )
    assert (issued.amount.value, issued.tax_amount.value, issued.total_amount.value, issued.reason) == (
        "50.00",
        "5.00",
        "55.00",
        "damaged goods",
    )
    assert issued.invoice_version == first.invoice.version and issued.issue_date == note.issue_date

    await pay(stub, inv, "100.00")
    async with recorded_events(db, inv.id) as events:
        last = await credit(stub, inv, "50.00", "15.00")
    assert (last.invoice.status, last.invoice.amount_due.value) == (pb.INVOICE_STATUS_PAID, "0.00")
    assert names(events) == ["CreditNoteIssued", "InvoiceStatusChanged"]
    assert (await get_customer(stub, c.id)).current_balance.value == "0.00"
    numbers = [int(n.credit_note_number[-6:]) for n in (note, last.credit_note)]
    assert numbers[1] == numbers[0] + 1  # consecutive: no other credit note in between
    listed = await stub.ListCreditNotes(api.ListCreditNotesRequest(invoice_id=inv.id))
    assert {n.id for n in listed.credit_notes} == {note.id, last.credit_note.id}
    assert (await stub.ListCreditNotes(api.ListCreditNotesRequest(customer_id=c.id))).total_size == 2


async def test_credit_note_error_paths_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    inv = await issued_invoice(stub, c.id, tax_amount=dec("10.00"))  # 110.00, tax 10.00
    keep = {"customers": (c.id,), "invoices": (inv.id,)}
    err = await rejected(db, lambda: credit(stub, inv, "100.00", "10.01"), Code.INVALID_ARGUMENT, **keep)
    assert violation_fields(err) == ["amount"]
    await rejected(
        db, lambda: credit(stub, inv, "1.00", "10.01"), Code.INVALID_ARGUMENT, fields=("tax_amount",), **keep
    )
    await rejected(db, lambda: credit(stub, inv, "0"), Code.INVALID_ARGUMENT, fields=("amount",), **keep)
    await rejected(db, lambda: credit(stub, inv, "1", "-1"), Code.INVALID_ARGUMENT, fields=("tax_amount",), **keep)
    await rejected(db, lambda: credit(stub, inv, "1", reason=""), Code.INVALID_ARGUMENT, fields=("reason",), **keep)
    await rejected(
        db,
        lambda: credit(stub, inv, "1", issue_date=day(days(-1))),
        Code.INVALID_ARGUMENT,
        fields=("issue_date",),
        **keep,
    )
    await rejected(db, lambda: credit(stub, inv, "1", version=99), Code.ABORTED, **keep)
    draft = await create_invoice(stub, c.id)
    await rejected(db, lambda: credit(stub, draft, "1"), Code.FAILED_PRECONDITION, invoices=(draft.id,))
    err = await rpc_error(
        stub.ListCreditNotes(
            api.ListCreditNotesRequest(invoice_id="x", issue_date_from=day(days(1)), issue_date_to=day(days(0)))
        ),
        Code.INVALID_ARGUMENT,
    )
    assert sorted(violation_fields(err)) == ["invoice_id", "issue_date_to"]


async def test_concurrent_settlements_keep_the_balance_exact(stub: Stub, db: asyncpg.Connection) -> None:
    """Payments and credit notes on five invoices of one customer, all at once, including two
    payments that each fit the amount due but not together: one of those is refused."""
    c = await create_customer(stub)
    invoices = [await issued_invoice(stub, c.id) for _ in range(5)]  # 110.00 each
    calls = [pay(stub, inv, "30.00") for inv in invoices]
    calls += [credit(stub, inv, "20.00") for inv in invoices]
    calls += [pay(stub, invoices[0], "60.00"), pay(stub, invoices[0], "60.00")]  # 60 due after the above
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    # Refused as more than the amount due, or (if the invoice was settled first) as already paid.
    assert len(errors) == 1
    assert errors[0].code() in (Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION)  # type: ignore[attr-defined]
    customer = await get_customer(stub, c.id)
    assert customer.current_balance.value == "240.00"  # 5 x 110 - 5 x 50 - 60
    assert (await get_invoice(stub, invoices[0].id)).status == pb.INVOICE_STATUS_PAID


async def test_every_balance_equals_its_open_invoices(db: asyncpg.Connection) -> None:
    """The invariant over everything the billing tests did so far (this module runs late)."""
    wrong = await db.fetch(
        """
        SELECT c.id, c.current_balance, coalesce(sum(i.amount_due), 0) AS open_due
        FROM customers c
        LEFT JOIN invoices i ON i.customer_id = c.id AND i.status IN ('sent', 'partially_paid', 'overdue')
        GROUP BY c.id HAVING c.current_balance <> coalesce(sum(i.amount_due), 0)
        """
    )
    assert [dict(r) for r in wrong] == []
    assert await db.fetchval("SELECT count(*) FROM customers") > 0
