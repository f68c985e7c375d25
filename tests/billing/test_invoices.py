"""Draft invoices: totals, gap-free numbers (also under concurrency), updates, reads and lists."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date

import asyncpg
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from tests.billing.helpers import (
    TODAY,
    Code,
    Stub,
    as_date,
    create_customer,
    create_invoice,
    day,
    days,
    dec,
    get_invoice,
    invoice_request,
    issued_invoice,
    line,
    mask,
    rpc_error,
    violation_fields,
)
from tests.billing.probes import names, only, recorded_events, rejected

NUMBER = re.compile(r"^INV-2025-\d{6}$")


async def test_create_invoice_computes_line_amounts_and_totals(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    lines = [
        line("Hours", "1.25", "0.99"),  # 1.2375 -> 1.24
        line("Half a cent", "0.50", "0.05"),  # 0.025 -> 0.03 (half-up, not half-even)
        line("Licence", "3", "1999.99"),  # 5999.97
    ]
    async with recorded_events(db) as events:
        inv = await create_invoice(stub, c.id, lines=lines, tax_amount=dec("480.10"), due_date=day(days(14)))
    assert [x.amount.value for x in inv.lines] == ["1.24", "0.03", "5999.97"]
    assert [x.line_number for x in inv.lines] == [1, 2, 3]
    assert (inv.subtotal.value, inv.tax_amount.value, inv.total_amount.value) == ("6001.24", "480.10", "6481.34")
    assert (inv.paid_amount.value, inv.credit_amount.value, inv.amount_due.value) == ("0.00", "0.00", "6481.34")
    assert inv.status == pb.INVOICE_STATUS_PENDING and inv.version == 1
    assert NUMBER.match(inv.invoice_number)
    assert as_date(inv.invoice_date) == TODAY and as_date(inv.due_date) == days(14)
    assert not inv.HasField("issued_at") and inv.accounting_transaction_id == ""
    assert await get_invoice(stub, inv.id) == inv
    assert names(events) == ["InvoiceCreated"]
    created = only(events, "InvoiceCreated")
    assert (created.invoice_number, created.customer_id, created.line_item_count) == (inv.invoice_number, c.id, 3)
    assert (created.subtotal.value, created.tax_amount.value, created.total_amount.value) == (
        "6001.24",
        "480.10",
        "6481.34",
    )
    assert events[0].aggregate_type == "Invoice" and events[0].version == 1


async def test_invoice_date_defaults_to_today_and_tax_to_zero(stub: Stub) -> None:
    c = await create_customer(stub)
    inv = await create_invoice(stub, c.id, invoice_date=None, tax_amount=None)
    assert as_date(inv.invoice_date) == TODAY
    assert (inv.tax_amount.value, inv.total_amount.value) == ("0.00", "100.00")


async def test_create_invoice_rejects_bad_input_and_uses_no_number(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    cases: list[tuple[api.CreateInvoiceRequest, tuple[str, ...]]] = [
        (invoice_request(c.id, lines=[]), ("lines",)),
        (
            invoice_request(c.id, lines=[line("", "0", "-1"), line("ok", "1.001", "x")]),
            (
                "lines[0].description",
                "lines[0].quantity",
                "lines[0].unit_price",
                "lines[1].quantity",
                "lines[1].unit_price",
            ),
        ),
        (invoice_request(c.id, due_date=day(days(-1))), ("due_date",)),
        (invoice_request(c.id, due_date=None, tax_amount=dec("-1")), ("due_date", "tax_amount")),
        (invoice_request("nope"), ("customer_id",)),
        (invoice_request(c.id, lines=[line("big", "99999999.99", "99999999.99")]), ("lines[0].unit_price",)),
        (invoice_request(c.id, lines=[line("x", "1", "99999999.99")] * 101), ("lines",)),
        (invoice_request(c.id, tax_amount=dec("9999999999.99")), ("tax_amount",)),
    ]
    for request, fields in cases:
        err = await rejected(db, lambda request=request: stub.CreateInvoice(request), Code.INVALID_ARGUMENT)
        assert sorted(violation_fields(err)) == sorted(fields), request


async def test_create_invoice_for_unknown_or_blocked_customer(stub: Stub, db: asyncpg.Connection) -> None:
    await rejected(db, lambda: stub.CreateInvoice(invoice_request(str(uuid.uuid4()))), Code.NOT_FOUND)
    for status in (pb.CUSTOMER_STATUS_SUSPENDED, pb.CUSTOMER_STATUS_INACTIVE):
        c = await create_customer(stub)
        await stub.UpdateCustomer(
            api.UpdateCustomerRequest(customer=pb.Customer(id=c.id, status=status), update_mask=mask("status"))
        )
        err = await rejected(
            db, lambda c=c: stub.CreateInvoice(invoice_request(c.id)), Code.FAILED_PRECONDITION, customers=(c.id,)
        )
        assert "cannot be invoiced" in err.details()


async def test_numbers_are_gap_free_per_year_under_concurrency(stub: Stub, db: asyncpg.Connection) -> None:
    """Thirty drafts dated 2031 created at once, mixed with rejected ones: numbers 1..30, no gap."""
    c = await create_customer(stub)
    blocked = await create_customer(stub)
    await stub.UpdateCustomer(
        api.UpdateCustomerRequest(
            customer=pb.Customer(id=blocked.id, status=pb.CUSTOMER_STATUS_SUSPENDED), update_mask=mask("status")
        )
    )
    dated = {"invoice_date": day(date(2031, 3, 1)), "due_date": day(date(2031, 4, 1))}
    good = [stub.CreateInvoice(invoice_request(c.id, **dated)) for _ in range(30)]
    bad = [stub.CreateInvoice(invoice_request(blocked.id, **dated)) for _ in range(10)]
    results = await asyncio.gather(*good, *bad, return_exceptions=True)
    made = [r.invoice for r in results[:30] if isinstance(r, api.CreateInvoiceResponse)]
    assert len(made) == 30
    assert all(getattr(r, "code", lambda: None)() == Code.FAILED_PRECONDITION for r in results[30:])
    numbers = sorted(i.invoice_number for i in made)
    assert numbers == [f"INV-2031-{n:06d}" for n in range(1, 31)]
    assert await db.fetchval("SELECT last_number FROM invoice_number_sequences WHERE year = 2031") == 30
    # Another year has its own series.
    other = await create_invoice(stub, c.id, invoice_date=day(date(2032, 1, 5)), due_date=day(date(2032, 2, 5)))
    assert other.invoice_number == "INV-2032-000001"


async def test_update_draft_replaces_lines_and_recomputes_totals(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    inv = await create_invoice(stub, c.id, lines=[line("a", "1", "10.00"), line("b", "2", "5.00")])
    request = api.UpdateInvoiceRequest(
        invoice=pb.Invoice(id=inv.id, due_date=day(days(45)), tax_amount=dec("2.50"), notes="Net 45"),
        update_mask=mask("due_date", "tax_amount", "notes", "lines"),
        version=inv.version,
        replacement_lines=[line("c", "3", "33.33")],
    )
    async with recorded_events(db, inv.id) as events:
        updated = (await stub.UpdateInvoice(request)).invoice
    assert [(x.line_number, x.description, x.amount.value) for x in updated.lines] == [(1, "c", "99.99")]
    assert (updated.subtotal.value, updated.tax_amount.value, updated.total_amount.value) == (
        "99.99",
        "2.50",
        "102.49",
    )
    assert (updated.notes, as_date(updated.due_date), updated.version) == ("Net 45", days(45), 2)
    assert updated.invoice_number == inv.invoice_number
    (recorded,) = events
    assert (recorded.name, recorded.aggregate_type, recorded.version) == ("InvoiceUpdated", "Invoice", 2)
    changed = recorded.message
    assert list(changed.changed_fields) == ["due_date", "notes", "tax_amount", "lines"]
    assert (changed.total_amount.value, changed.line_item_count, changed.version) == ("102.49", 1, 2)
    assert await get_invoice(stub, inv.id) == updated
    assert await db.fetchval("SELECT count(*) FROM invoice_line_items WHERE invoice_id = $1", uuid.UUID(inv.id)) == 1

    # Only the tax: totals follow the kept lines.
    taxed = await stub.UpdateInvoice(
        api.UpdateInvoiceRequest(
            invoice=pb.Invoice(id=inv.id, tax_amount=dec("0")), update_mask=mask("tax_amount"), version=2
        )
    )
    assert (taxed.invoice.total_amount.value, taxed.invoice.version) == ("99.99", 3)


async def test_update_invoice_error_paths_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    inv = await create_invoice(stub, c.id)
    keep = (inv.id,)

    def upd(paths: tuple[str, ...], version: int = 0, lines: list[api.InvoiceLineInput] | None = None, **f: object):  # type: ignore[no-untyped-def]
        return lambda: stub.UpdateInvoice(
            api.UpdateInvoiceRequest(
                invoice=pb.Invoice(id=inv.id, **f),  # type: ignore[arg-type]
                update_mask=mask(*paths),
                version=version,
                replacement_lines=lines or [],
            )
        )

    await rejected(db, upd(("notes",), version=9, notes="x"), Code.ABORTED, invoices=keep)
    await rejected(db, upd(()), Code.INVALID_ARGUMENT, fields=("update_mask",), invoices=keep)
    await rejected(db, upd(("status",)), Code.INVALID_ARGUMENT, fields=("update_mask",), invoices=keep)
    await rejected(db, upd(("lines",)), Code.INVALID_ARGUMENT, fields=("replacement_lines",), invoices=keep)
    await rejected(
        db,
        upd(("notes",), lines=[line()]),
        Code.INVALID_ARGUMENT,
        fields=("replacement_lines",),
        invoices=keep,
    )
    await rejected(
        db,
        upd(("lines",), lines=[line("x", "-1")]),
        Code.INVALID_ARGUMENT,
        fields=("replacement_lines[0].quantity",),
        invoices=keep,
    )
    await rejected(
        db,
        upd(("due_date",), due_date=day(days(-3))),
        Code.INVALID_ARGUMENT,
        fields=("invoice.due_date",),
        invoices=keep,
    )
    await rejected(
        db,
        upd(("invoice_date", "due_date"), invoice_date=day(date(2026, 1, 2)), due_date=day(date(2026, 2, 2))),
        Code.INVALID_ARGUMENT,
        fields=("invoice.invoice_date",),
        invoices=keep,
    )
    await rejected(
        db,
        lambda: stub.UpdateInvoice(
            api.UpdateInvoiceRequest(invoice=pb.Invoice(id=str(uuid.uuid4()), notes="x"), update_mask=mask("notes"))
        ),
        Code.NOT_FOUND,
    )
    sent = await issued_invoice(stub)
    err = await rejected(
        db,
        lambda: stub.UpdateInvoice(
            api.UpdateInvoiceRequest(invoice=pb.Invoice(id=sent.id, notes="x"), update_mask=mask("notes"))
        ),
        Code.FAILED_PRECONDITION,
        invoices=(sent.id,),
    )
    assert "pending" in err.details()


async def test_batch_get_and_list_invoices(stub: Stub) -> None:
    c = await create_customer(stub)
    older = await create_invoice(stub, c.id, invoice_date=day(days(-10)), due_date=day(days(20)))
    newer = await create_invoice(stub, c.id, invoice_date=day(days(-1)), due_date=day(days(40)))
    sent = await issued_invoice(stub, c.id, invoice_date=day(days(-5)), due_date=day(days(10)))
    resp = await stub.BatchGetInvoices(api.BatchGetInvoicesRequest(ids=[older.id, sent.id, str(uuid.uuid4())]))
    assert sorted(i.id for i in resp.invoices) == sorted([older.id, sent.id])
    assert all(len(i.lines) == 1 for i in resp.invoices)

    listed = await stub.ListInvoices(api.ListInvoicesRequest(customer_ids=[c.id], page_size=2))
    page2 = await stub.ListInvoices(
        api.ListInvoicesRequest(customer_ids=[c.id], page_size=2, page_token=listed.next_page_token)
    )
    assert [i.id for i in [*listed.invoices, *page2.invoices]] == [newer.id, sent.id, older.id]  # newest first
    assert listed.total_size == 3 and page2.next_page_token == ""

    async def ids(**kw: object) -> list[str]:
        return [i.id for i in (await stub.ListInvoices(api.ListInvoicesRequest(customer_ids=[c.id], **kw))).invoices]  # type: ignore[arg-type]

    assert await ids(statuses=[pb.INVOICE_STATUS_SENT]) == [sent.id]
    assert await ids(statuses=[pb.INVOICE_STATUS_PENDING]) == [newer.id, older.id]
    assert await ids(invoice_date_from=day(days(-6)), invoice_date_to=day(days(-2))) == [sent.id]
    assert await ids(due_date_from=day(days(30))) == [newer.id]
    assert await ids(invoice_number=older.invoice_number) == [older.id]
    err = await rpc_error(
        stub.ListInvoices(api.ListInvoicesRequest(due_date_from=day(days(2)), due_date_to=day(days(1)))),
        Code.INVALID_ARGUMENT,
    )
    assert violation_fields(err) == ["due_date_to"]
    err = await rpc_error(stub.ListInvoices(api.ListInvoicesRequest(customer_ids=["x"])), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["customer_ids"]
