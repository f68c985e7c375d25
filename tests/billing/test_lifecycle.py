"""Issuing (credit limit, customer status) and cancelling invoices; their events and balances."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from tests.billing.helpers import (
    FIXED_NOW,
    Code,
    Stub,
    create_customer,
    create_invoice,
    credit,
    dec,
    get_customer,
    issue,
    issued_invoice,
    line,
    mask,
    pay,
)
from tests.billing.probes import names, only, recorded_events, rejected


def cancel(invoice: pb.Invoice, reason: str = "ordered by mistake", version: int = 0) -> api.CancelInvoiceRequest:
    return api.CancelInvoiceRequest(id=invoice.id, reason=reason, version=version)


async def test_issue_invoice_records_invoice_issued_and_raises_the_balance(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub, credit_limit=dec("1000.00"))
    draft = await create_invoice(stub, c.id, lines=[line("Widget", "4", "25.00")], tax_amount=dec("8.00"))
    async with recorded_events(db, draft.id) as events:
        sent = await issue(stub, draft)
    assert sent.status == pb.INVOICE_STATUS_SENT and sent.version == 2
    assert sent.issued_at.ToDatetime().replace(tzinfo=FIXED_NOW.tzinfo) == FIXED_NOW
    assert (await get_customer(stub, c.id)).current_balance.value == "108.00"
    assert names(events) == ["InvoiceIssued", "InvoiceStatusChanged"]
    issued = only(events, "InvoiceIssued")
    assert (issued.invoice_id, issued.invoice_number, issued.customer_id, issued.customer_name) == (
        sent.id,
        sent.invoice_number,
        c.id,
        c.name,
    )
    assert (issued.subtotal.value, issued.tax_amount.value, issued.total_amount.value) == ("100.00", "8.00", "108.00")
    assert issued.invoice_date == sent.invoice_date and issued.due_date == sent.due_date
    assert issued.version == 2
    changed = only(events, "InvoiceStatusChanged")
    assert (changed.old_status, changed.new_status, changed.amount_due.value, changed.version) == (
        pb.INVOICE_STATUS_PENDING,
        pb.INVOICE_STATUS_SENT,
        "108.00",
        2,
    )
    assert all(e.aggregate_id == sent.id and e.version == 2 for e in events)
    assert events[0].headers["ce-type"] == "erp.billing.v1.InvoiceIssued"
    assert events[0].headers["ce-subject"] == sent.id


async def test_issue_is_only_for_drafts(stub: Stub, db: asyncpg.Connection) -> None:
    sent = await issued_invoice(stub)
    err = await rejected(db, lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=sent.id)), Code.FAILED_PRECONDITION)
    assert "only a pending invoice" in err.details()
    await rejected(db, lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    c = await create_customer(stub)
    draft = await create_invoice(stub, c.id)
    await rejected(
        db,
        lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=draft.id, version=5)),
        Code.ABORTED,
        invoices=(draft.id,),
    )


async def test_credit_limit_blocks_the_issue_that_would_exceed_it(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub, credit_limit=dec("250.00"))
    first = await issued_invoice(stub, c.id)  # 110.00
    second = await issued_invoice(stub, c.id)  # 220.00: at most the limit is fine
    assert (await get_customer(stub, c.id)).current_balance.value == "220.00"
    third = await create_invoice(stub, c.id)  # would make 330.00
    err = await rejected(
        db,
        lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=third.id)),
        Code.FAILED_PRECONDITION,
        customers=(c.id,),
        invoices=(third.id,),
    )
    assert "credit limit" in err.details()
    # Paying makes room again.
    await pay(stub, first, "110.00")
    assert (await issue(stub, third)).status == pb.INVOICE_STATUS_SENT
    assert (await get_customer(stub, c.id)).current_balance.value == "220.00"
    assert second.status == pb.INVOICE_STATUS_SENT


async def test_zero_credit_limit_means_no_credit(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub, credit_limit=dec("0"))
    draft = await create_invoice(stub, c.id)
    await rejected(db, lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=draft.id)), Code.FAILED_PRECONDITION)


async def test_suspended_customer_cannot_be_invoiced(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    draft = await create_invoice(stub, c.id)
    c = (
        await stub.UpdateCustomer(
            api.UpdateCustomerRequest(
                customer=pb.Customer(id=c.id, status=pb.CUSTOMER_STATUS_SUSPENDED), update_mask=mask("status")
            )
        )
    ).customer
    err = await rejected(
        db,
        lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=draft.id)),
        Code.FAILED_PRECONDITION,
        invoices=(draft.id,),
    )
    assert "suspended" in err.details()
    assert c.status == pb.CUSTOMER_STATUS_SUSPENDED


async def test_zero_total_invoice_cannot_be_issued(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    draft = await create_invoice(stub, c.id, lines=[line("Free sample", "1", "0")], tax_amount=dec("0"))
    await rejected(db, lambda: stub.IssueInvoice(api.IssueInvoiceRequest(id=draft.id)), Code.FAILED_PRECONDITION)


async def test_cancelling_a_draft_records_only_the_status_change(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    draft = await create_invoice(stub, c.id)
    async with recorded_events(db, draft.id) as events:
        cancelled = (await stub.CancelInvoice(cancel(draft, version=1))).invoice
    assert cancelled.status == pb.INVOICE_STATUS_CANCELLED and cancelled.version == 2
    assert names(events) == ["InvoiceStatusChanged"]
    changed = only(events, "InvoiceStatusChanged")
    assert (changed.old_status, changed.new_status, changed.amount_due.value) == (
        pb.INVOICE_STATUS_PENDING,
        pb.INVOICE_STATUS_CANCELLED,
        "0.00",
    )


async def test_cancelling_a_sent_invoice_records_invoice_cancelled(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    keep = await issued_invoice(stub, c.id)
    sent = await issued_invoice(stub, c.id, tax_amount=dec("7.00"))
    assert (await get_customer(stub, c.id)).current_balance.value == "217.00"
    async with recorded_events(db, sent.id) as events:
        cancelled = (await stub.CancelInvoice(cancel(sent, reason="  duplicate  "))).invoice
    assert cancelled.status == pb.INVOICE_STATUS_CANCELLED
    assert (await get_customer(stub, c.id)).current_balance.value == "110.00"  # only `keep` is open
    assert names(events) == ["InvoiceStatusChanged", "InvoiceCancelled"]
    gone = only(events, "InvoiceCancelled")
    assert (gone.invoice_number, gone.customer_id, gone.reason, gone.previous_status) == (
        sent.invoice_number,
        c.id,
        "duplicate",
        pb.INVOICE_STATUS_SENT,
    )
    assert (gone.subtotal.value, gone.tax_amount.value, gone.total_amount.value) == ("100.00", "7.00", "107.00")
    assert gone.accounting_transaction_id == "" and gone.version == cancelled.version
    assert gone.HasField("cancellation_date") and gone.cancellation_date.year >= 2024
    assert keep.status == pb.INVOICE_STATUS_SENT


async def test_cancel_error_paths_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    paid_some = await issued_invoice(stub, c.id)
    await pay(stub, paid_some, "10.00")
    err = await rejected(
        db,
        lambda: stub.CancelInvoice(cancel(paid_some)),
        Code.FAILED_PRECONDITION,
        customers=(c.id,),
        invoices=(paid_some.id,),
    )
    assert "payments" in err.details()
    credited = await issued_invoice(stub, c.id)
    await credit(stub, credited, "5.00")
    await rejected(db, lambda: stub.CancelInvoice(cancel(credited)), Code.FAILED_PRECONDITION, invoices=(credited.id,))
    draft = await create_invoice(stub, c.id)
    await rejected(
        db,
        lambda: stub.CancelInvoice(cancel(draft, reason=" ")),
        Code.INVALID_ARGUMENT,
        fields=("reason",),
        invoices=(draft.id,),
    )
    await rejected(db, lambda: stub.CancelInvoice(cancel(draft, version=3)), Code.ABORTED, invoices=(draft.id,))
    await stub.CancelInvoice(cancel(draft))
    await rejected(db, lambda: stub.CancelInvoice(cancel(draft)), Code.FAILED_PRECONDITION, invoices=(draft.id,))
    await rejected(
        db, lambda: stub.CancelInvoice(api.CancelInvoiceRequest(id=str(uuid.uuid4()), reason="x")), Code.NOT_FOUND
    )


async def test_concurrent_issues_respect_the_credit_limit(stub: Stub) -> None:
    c = await create_customer(stub, credit_limit=dec("250.00"))
    drafts = [await create_invoice(stub, c.id) for _ in range(4)]  # 110.00 each: two fit
    results = await asyncio.gather(*(issue(stub, d) for d in drafts), return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 2
    assert all(r.code() == Code.FAILED_PRECONDITION for r in refused)  # type: ignore[attr-defined]
    assert (await get_customer(stub, c.id)).current_balance.value == "220.00"
