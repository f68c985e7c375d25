"""Postings requested by billing, procurement and inventory events, published on real NATS
JetStream and handled by the service's consumer: the balanced entry of each event type, one entry
whatever the duplicates (the same event redelivered, the same request under a new event id),
JournalEntryRejected in a closed period, and the events that post nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from erp.accounting.v1 import events_pb2 as ev
from erp.billing.v1 import billing_pb2 as billing_pb
from erp.billing.v1 import events_pb2 as billing_ev
from erp.inventory.v1 import events_pb2 as inventory_ev
from erp.inventory.v1 import inventory_pb2 as inventory_pb
from erp.procurement.v1 import events_pb2 as procurement_ev
from erp.procurement.v1 import procurement_pb2 as procurement_pb
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.type.date_pb2 import Date
from nats.aio.client import Client

from services.accounting import chart
from services.runtime.context import CallContext
from services.runtime.events import H_MSG_ID, build_headers, event_subject
from services.runtime.settings import Settings
from tests.accounting.helpers import D, Stub, assert_books_balanced, dec, fresh_year
from tests.runtime.helpers import eventually

Lines = list[tuple[str, Decimal, Decimal]]


@dataclass
class Env:
    stub: Stub
    db: asyncpg.Connection
    nats: Client
    settings: Settings

    async def publish(
        self,
        message: Message,
        *,
        event_id: uuid.UUID | None = None,
        msg_id: str = "",
        occurred_at: datetime | None = None,
    ) -> uuid.UUID:
        event_id = event_id or uuid.uuid4()
        event_type = message.DESCRIPTOR.full_name
        headers = build_headers(
            event_id=event_id,
            event_type=event_type,
            aggregate_id=str(uuid.uuid4()),
            ctx=CallContext(correlation_id=uuid.uuid4()),
            occurred_at=occurred_at or datetime.now(UTC),
        )
        if msg_id:
            headers[H_MSG_ID] = msg_id  # same event, another JetStream message: a true redelivery
        await self.nats.jetstream().publish(
            event_subject(self.settings.subject_root, event_type), message.SerializeToString(), headers=headers
        )
        return event_id

    async def result(self, event_id: uuid.UUID) -> str:
        async def handled() -> Any:
            return await self.db.fetchval("SELECT result::text FROM processed_events WHERE event_id = $1", event_id)

        value: str = await eventually(handled, timeout_s=15)
        return value

    async def entries(self, posting_key: str) -> list[dict[str, Any]]:
        return [
            dict(r) for r in await self.db.fetch("SELECT * FROM journal_entries WHERE posting_key = $1", posting_key)
        ]

    async def entry(self, posting_key: str) -> pb.JournalEntry:
        [row] = await self.entries(posting_key)
        return (await self.stub.GetJournalEntry(api.GetJournalEntryRequest(id=str(row["id"])))).journal_entry

    async def outbox(self, name: str, source_id: str) -> list[Any]:
        rows = await self.db.fetch(
            "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", f"erp.accounting.v1.{name}"
        )
        out = []
        for r in rows:
            msg = getattr(ev, name)()
            msg.ParseFromString(r["payload"])
            if msg.source_id == source_id:
                out.append(msg)
        return out

    async def close_period(self, year: int, month: int) -> None:
        last = 30 if month in (4, 6, 9, 11) else 28 if month == 2 else 31
        period = (
            await self.stub.CreateFiscalPeriod(
                api.CreateFiscalPeriodRequest(
                    fiscal_year=year,
                    period_number=month,
                    start_date=Date(year=year, month=month, day=1),
                    end_date=Date(year=year, month=month, day=last),
                )
            )
        ).fiscal_period
        await self.stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=period.id))


@pytest.fixture
def env(stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings) -> Env:
    return Env(stub, db, nats_client, settings)


def line_tuples(entry: pb.JournalEntry) -> Lines:
    return [(x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in entry.lines]


def L(*lines: tuple[str, str, str]) -> Lines:
    return [(code, Decimal(debit), Decimal(credit)) for code, debit, credit in lines]


def date_of(year: int, month: int, day: int) -> Date:
    return Date(year=year, month=month, day=day)


def ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


# ---- the events ----------------------------------------------------------------------------------


def invoice_issued(year: int, **overrides: Any) -> billing_ev.InvoiceIssued:
    values: dict[str, Any] = {
        "invoice_id": str(uuid.uuid4()),
        "invoice_number": f"INV-{year}-{uuid.uuid4().hex[:6]}",
        "customer_id": str(uuid.uuid4()),
        "customer_name": "Initech",
        "invoice_date": date_of(year, 3, 10),
        "due_date": date_of(year, 4, 9),
        "subtotal": dec("1000.00"),
        "tax_amount": dec("80.00"),
        "total_amount": dec("1080.00"),
        "version": 2,
    }
    values.update(overrides)
    return billing_ev.InvoiceIssued(**values)


def invoice_cancelled(issued: billing_ev.InvoiceIssued, **overrides: Any) -> billing_ev.InvoiceCancelled:
    values: dict[str, Any] = {
        "invoice_id": issued.invoice_id,
        "invoice_number": issued.invoice_number,
        "customer_id": issued.customer_id,
        "reason": "sent twice",
        "previous_status": billing_pb.INVOICE_STATUS_SENT,
        "subtotal": issued.subtotal,
        "tax_amount": issued.tax_amount,
        "total_amount": issued.total_amount,
        "version": issued.version + 1,
    }
    values.update(overrides)
    return billing_ev.InvoiceCancelled(**values)


def payment_recorded(year: int, **overrides: Any) -> billing_ev.PaymentRecorded:
    values: dict[str, Any] = {
        "payment_id": str(uuid.uuid4()),
        "invoice_id": str(uuid.uuid4()),
        "invoice_number": f"INV-{year}-{uuid.uuid4().hex[:6]}",
        "customer_id": str(uuid.uuid4()),
        "payment_date": date_of(year, 3, 20),
        "amount": dec("400.00"),
        "payment_method": billing_pb.PAYMENT_METHOD_BANK_TRANSFER,
        "reference": "TRX-77",
        "invoice_paid_amount": dec("400.00"),
        "invoice_status": billing_pb.INVOICE_STATUS_PARTIALLY_PAID,
        "invoice_version": 3,
    }
    values.update(overrides)
    return billing_ev.PaymentRecorded(**values)


def credit_note_issued(year: int, **overrides: Any) -> billing_ev.CreditNoteIssued:
    values: dict[str, Any] = {
        "credit_note_id": str(uuid.uuid4()),
        "credit_note_number": f"CN-{year}-{uuid.uuid4().hex[:6]}",
        "invoice_id": str(uuid.uuid4()),
        "invoice_number": f"INV-{year}-{uuid.uuid4().hex[:6]}",
        "customer_id": str(uuid.uuid4()),
        "issue_date": date_of(year, 3, 25),
        "amount": dec("100.00"),
        "tax_amount": dec("8.00"),
        "total_amount": dec("108.00"),
        "reason": "damaged goods",
        "invoice_version": 4,
    }
    values.update(overrides)
    return billing_ev.CreditNoteIssued(**values)


def receipt_line(sku: str, received: int, rejected: int, unit_cost: str) -> procurement_ev.ReceiptLine:
    amount = (Decimal(unit_cost) * received).quantize(Decimal("0.01"))
    return procurement_ev.ReceiptLine(
        purchase_order_item_id=str(uuid.uuid4()),
        sku=sku,
        quantity_received=received,
        quantity_rejected=rejected,
        unit_cost=dec(unit_cost),
        amount=dec(str(amount)),
    )


def po_received(year: int, **overrides: Any) -> procurement_ev.PurchaseOrderReceived:
    """Two lines: 10 accepted (2 rejected) x 12.50 + 4 x 3.25 = 138.00 of goods; tax and shipping apart."""
    values: dict[str, Any] = {
        "purchase_order_id": str(uuid.uuid4()),
        "po_number": f"PO-{year}-{uuid.uuid4().hex[:6]}",
        "vendor_id": str(uuid.uuid4()),
        "lines": [receipt_line("SKU-A", 10, 2, "12.50"), receipt_line("SKU-B", 4, 0, "3.25")],
        "receipt_date": date_of(year, 3, 12),
        "requesting_department": "Operations",
        "total_amount": dec("138.00"),
        "tax_amount": dec("11.04"),
        "shipping_cost": dec("5.00"),
        "fully_received": False,
        "status": procurement_pb.PURCHASE_ORDER_STATUS_PARTIALLY_RECEIVED,
        "received_by": str(uuid.uuid4()),
        "version": 4,
    }
    values.update(overrides)
    return procurement_ev.PurchaseOrderReceived(**values)


def stock_adjusted(year: int, **overrides: Any) -> inventory_ev.StockAdjusted:
    values: dict[str, Any] = {
        "movement_id": str(uuid.uuid4()),
        "item_id": str(uuid.uuid4()),
        "sku": "SKU-D",
        "movement_type": inventory_pb.STOCK_MOVEMENT_TYPE_DAMAGE,
        "quantity": -3,
        "unit_cost": dec("7.50"),
        "value": dec("-22.50"),
        "reason": "forklift",
        "reference": f"DMG-{uuid.uuid4().hex[:6]}",
        "adjusted_at": ts(datetime(year, 3, 14, 23, 59, tzinfo=UTC)),
        "version": 5,
    }
    values.update(overrides)
    return inventory_ev.StockAdjusted(**values)


def reservation_fulfilled(year: int, **overrides: Any) -> inventory_ev.ReservationFulfilled:
    values: dict[str, Any] = {
        "reservation_id": str(uuid.uuid4()),
        "item_id": str(uuid.uuid4()),
        "sku": "SKU-F",
        "quantity": 5,
        "order_id": f"SO-{uuid.uuid4().hex[:6]}",
        "customer_id": str(uuid.uuid4()),
        "unit_cost": dec("7.50"),
        "total_cost": dec("37.50"),
        "fulfilled_at": ts(datetime(year, 3, 15, 8, 0, tzinfo=UTC)),
    }
    values.update(overrides)
    return inventory_ev.ReservationFulfilled(**values)


# ---- one case per event type ----------------------------------------------------------------------


@dataclass
class Case:
    """An event type: how to make one, the entry it must post, and where to find it."""

    name: str
    make: Callable[[Env, int], Awaitable[Message]]  # may post prerequisites (the invoice to cancel)
    key: Callable[[Any], str]
    source_service: str
    source_id: Callable[[Any], str]
    reference: Callable[[Any], str]
    lines: Lines
    month_day: tuple[int, int] = (3, 10)
    department: str = ""
    occurred_at: Callable[[int], datetime | None] = field(default=lambda year: None)


async def _just(message: Message) -> Message:
    return message


async def _posted_invoice(env: Env, year: int) -> billing_ev.InvoiceCancelled:
    issued = invoice_issued(year)
    assert '"duplicate": false' in await env.result(await env.publish(issued))
    return invoice_cancelled(issued)


CASES = [
    Case(
        "InvoiceIssued",
        lambda env, year: _just(invoice_issued(year)),
        lambda m: f"billing.invoice:{m.invoice_id}",
        "billing",
        lambda m: m.invoice_id,
        lambda m: m.invoice_number,
        L(
            (chart.ACCOUNTS_RECEIVABLE, "1080.00", "0"),
            (chart.SALES_REVENUE, "0", "1000.00"),
            (chart.SALES_TAX_PAYABLE, "0", "80.00"),
        ),
        (3, 10),
    ),
    Case(
        "InvoiceCancelled",
        _posted_invoice,
        lambda m: f"billing.invoice-cancel:{m.invoice_id}",
        "billing",
        lambda m: m.invoice_id,
        lambda m: m.invoice_number,
        L(
            (chart.ACCOUNTS_RECEIVABLE, "0", "1080.00"),
            (chart.SALES_REVENUE, "1000.00", "0"),
            (chart.SALES_TAX_PAYABLE, "80.00", "0"),
        ),
        (5, 2),
        occurred_at=lambda year: datetime(year, 5, 2, 9, 30, tzinfo=UTC),  # no date in the event: ce-time
    ),
    Case(
        "PaymentRecorded",
        lambda env, year: _just(payment_recorded(year)),
        lambda m: f"billing.payment:{m.payment_id}",
        "billing",
        lambda m: m.payment_id,
        lambda m: m.invoice_number,
        L((chart.CASH, "400.00", "0"), (chart.ACCOUNTS_RECEIVABLE, "0", "400.00")),
        (3, 20),
    ),
    Case(
        "CreditNoteIssued",
        lambda env, year: _just(credit_note_issued(year)),
        lambda m: f"billing.credit-note:{m.credit_note_id}",
        "billing",
        lambda m: m.credit_note_id,
        lambda m: m.credit_note_number,
        L(
            (chart.SALES_REVENUE, "100.00", "0"),
            (chart.SALES_TAX_PAYABLE, "8.00", "0"),
            (chart.ACCOUNTS_RECEIVABLE, "0", "108.00"),
        ),
        (3, 25),
    ),
    Case(
        "PurchaseOrderReceived",
        lambda env, year: _just(po_received(year)),
        lambda m: f"procurement.receipt:{m.purchase_order_id}:{m.version}",
        "procurement",
        lambda m: m.purchase_order_id,
        lambda m: m.po_number,
        L((chart.INVENTORY, "138.00", "0"), (chart.GOODS_RECEIVED_NOT_INVOICED, "0", "138.00")),
        (3, 12),
        department="Operations",
    ),
    Case(
        "StockAdjusted",
        lambda env, year: _just(stock_adjusted(year)),
        lambda m: f"inventory.adjustment:{m.movement_id}",
        "inventory",
        lambda m: m.movement_id,
        lambda m: m.reference,
        L((chart.STOCK_ADJUSTMENT, "22.50", "0"), (chart.INVENTORY, "0", "22.50")),
        (3, 14),
    ),
    Case(
        "ReservationFulfilled",
        lambda env, year: _just(reservation_fulfilled(year)),
        lambda m: f"inventory.cogs:{m.reservation_id}",
        "inventory",
        lambda m: m.reservation_id,
        lambda m: m.order_id,
        L((chart.COST_OF_GOODS_SOLD, "37.50", "0"), (chart.INVENTORY, "0", "37.50")),
        (3, 15),
    ),
]
BY_NAME = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])


@BY_NAME
async def test_the_event_posts_one_balanced_entry(env: Env, case: Case) -> None:
    year = fresh_year()
    msg = await case.make(env, year)
    result = await env.result(await env.publish(msg, occurred_at=case.occurred_at(year)))
    key = case.key(msg)
    entry = await env.entry(key)
    assert entry.id in result and '"duplicate": false' in result
    assert line_tuples(entry) == case.lines
    assert D(entry.total_debit) == D(entry.total_credit) == sum(d for _, d, _ in case.lines)
    assert (entry.source_service, entry.source_id, entry.reference, entry.department) == (
        case.source_service,
        case.source_id(msg),
        case.reference(msg),
        case.department,
    )
    assert (entry.entry_date.year, entry.entry_date.month, entry.entry_date.day) == (year, *case.month_day)
    assert entry.posted_by == "" and entry.status == pb.JOURNAL_ENTRY_STATUS_POSTED
    posted = [p for p in await env.outbox("JournalEntryPosted", case.source_id(msg)) if p.journal_entry_id == entry.id]
    assert len(posted) == 1 and posted[0].reference == case.reference(msg)
    await assert_books_balanced(env.stub, env.db)


@BY_NAME
async def test_duplicates_and_repeated_requests_post_once(env: Env, case: Case) -> None:
    year = fresh_year()
    msg = await case.make(env, year)
    when = case.occurred_at(year)
    event_id = uuid.uuid4()
    await env.publish(msg, event_id=event_id, occurred_at=when)
    await env.publish(msg, event_id=event_id, occurred_at=when)  # dropped by JetStream's duplicate window
    await env.publish(msg, event_id=event_id, occurred_at=when, msg_id=f"redelivery-{uuid.uuid4()}")  # reaches us
    repeated = await env.publish(msg, occurred_at=when)  # the same business request under a new event id
    first = await env.result(event_id)
    second = await env.result(repeated)
    [row] = await env.entries(case.key(msg))
    assert '"duplicate": false' in first and '"duplicate": true' in second
    assert str(row["id"]) in first and str(row["id"]) in second
    assert await env.db.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1", event_id) == 1
    announced = [
        p.journal_entry_id
        for p in await env.outbox("JournalEntryPosted", case.source_id(msg))
        if p.journal_entry_id == str(row["id"])
    ]
    assert announced == [str(row["id"])] * 2  # posted, then re-announced for the repeated request
    await assert_books_balanced(env.stub, env.db)


@BY_NAME
async def test_a_closed_period_produces_journal_entry_rejected(env: Env, case: Case) -> None:
    year = fresh_year()
    msg = await case.make(env, year)
    await env.close_period(year, case.month_day[0])
    event_id = await env.publish(msg, occurred_at=case.occurred_at(year))
    result = await env.result(event_id)
    assert "rejected" in result
    assert await env.entries(case.key(msg)) == []
    [rejection] = await env.outbox("JournalEntryRejected", case.source_id(msg))
    assert rejection.source_service == case.source_service
    assert f"{year}-{case.month_day[0]:02d} is closed" in rejection.reason
    assert (rejection.request_event_type, rejection.request_event_id) == (msg.DESCRIPTOR.full_name, str(event_id))
    assert rejection.reference == case.reference(msg)
    await assert_books_balanced(env.stub, env.db)


# ---- particulars ------------------------------------------------------------------------------------


async def test_an_invoice_without_tax_has_no_tax_line(env: Env) -> None:
    msg = invoice_issued(fresh_year(), subtotal=dec("250.00"), tax_amount=dec("0.00"), total_amount=dec("250.00"))
    await env.result(await env.publish(msg))
    entry = await env.entry(f"billing.invoice:{msg.invoice_id}")
    assert line_tuples(entry) == L((chart.ACCOUNTS_RECEIVABLE, "250.00", "0"), (chart.SALES_REVENUE, "0", "250.00"))


async def test_cancelling_reverses_the_invoice_posting(env: Env) -> None:
    year = fresh_year()
    cancel = await _posted_invoice(env, year)
    original = await env.entry(f"billing.invoice:{cancel.invoice_id}")
    # A cancellation announced before the invoice's own date is dated on the invoice's date.
    await env.result(await env.publish(cancel, occurred_at=datetime(year, 3, 1, tzinfo=UTC)))
    reversal = await env.entry(f"billing.invoice-cancel:{cancel.invoice_id}")
    assert reversal.reversal_of_id == original.id
    assert (reversal.entry_date.month, reversal.entry_date.day) == (3, 10)
    reversed_now = (await env.stub.GetJournalEntry(api.GetJournalEntryRequest(id=original.id))).journal_entry
    assert reversed_now.status == pb.JOURNAL_ENTRY_STATUS_REVERSED and reversed_now.reversed_by_id == reversal.id
    [announced] = await env.outbox("JournalEntryReversed", cancel.invoice_id)
    assert announced.journal_entry_id == original.id
    assert announced.reversal_entry_id == reversal.id and "sent twice" in announced.reason
    posted = {p.journal_entry_id: p for p in await env.outbox("JournalEntryPosted", cancel.invoice_id)}
    assert posted[reversal.id].reversal_of_id == original.id
    # The invoice's receivable, revenue and tax net to zero over the two entries.
    net: dict[str, Decimal] = {}
    for entry in (original, reversal):
        for code, debit, credit in line_tuples(entry):
            net[code] = net.get(code, Decimal(0)) + debit - credit
    assert set(net.values()) == {Decimal(0)}
    await assert_books_balanced(env.stub, env.db)


async def test_the_cancellation_date_dates_the_reversal(env: Env) -> None:
    """billing's business day (cancellation_date), not the event's UTC time."""
    year = fresh_year()
    cancel = await _posted_invoice(env, year)
    cancel.cancellation_date.CopyFrom(date_of(year, 4, 2))
    await env.result(await env.publish(cancel, occurred_at=datetime(year, 4, 3, 1, tzinfo=UTC)))
    reversal = await env.entry(f"billing.invoice-cancel:{cancel.invoice_id}")
    assert (reversal.entry_date.month, reversal.entry_date.day) == (4, 2)


async def test_cancelling_a_draft_posts_nothing(env: Env) -> None:
    cancel = invoice_cancelled(invoice_issued(fresh_year()), previous_status=billing_pb.INVOICE_STATUS_PENDING)
    result = await env.result(await env.publish(cancel))
    assert "skipped" in result and "never posted" in result
    assert await env.entries(f"billing.invoice-cancel:{cancel.invoice_id}") == []
    assert await env.outbox("JournalEntryRejected", cancel.invoice_id) == []


async def test_cancelling_an_invoice_that_was_never_posted_is_rejected(env: Env) -> None:
    cancel = invoice_cancelled(invoice_issued(fresh_year()))
    result = await env.result(await env.publish(cancel))
    assert "rejected" in result
    [rejection] = await env.outbox("JournalEntryRejected", cancel.invoice_id)
    assert "no posted journal entry to reverse" in rejection.reason
    assert await env.entries(f"billing.invoice-cancel:{cancel.invoice_id}") == []


async def test_an_invoice_reversed_by_hand_cannot_be_cancelled_again(env: Env) -> None:
    year = fresh_year()
    cancel = await _posted_invoice(env, year)
    original = await env.entry(f"billing.invoice:{cancel.invoice_id}")
    await env.stub.ReverseJournalEntry(
        api.ReverseJournalEntryRequest(id=original.id, reversal_date=date_of(year, 3, 11), reason="by hand")
    )
    await env.result(await env.publish(cancel))
    [rejection] = await env.outbox("JournalEntryRejected", cancel.invoice_id)
    assert "already reversed" in rejection.reason
    await assert_books_balanced(env.stub, env.db)


async def test_every_receipt_of_an_order_posts_its_own_entry(env: Env) -> None:
    year = fresh_year()
    first = po_received(year)
    second = po_received(
        year,
        purchase_order_id=first.purchase_order_id,
        po_number=first.po_number,
        lines=[receipt_line("SKU-A", 2, 0, "12.50")],
        receipt_date=date_of(year, 3, 19),
        total_amount=dec("25.00"),
        tax_amount=dec("2.00"),
        shipping_cost=dec("0.00"),
        fully_received=True,
        status=procurement_pb.PURCHASE_ORDER_STATUS_RECEIVED,
        version=first.version + 1,
    )
    for msg in (first, second):
        await env.result(await env.publish(msg))
    one = await env.entry(f"procurement.receipt:{first.purchase_order_id}:{first.version}")
    two = await env.entry(f"procurement.receipt:{first.purchase_order_id}:{second.version}")
    # Goods value only: the receipt's tax and shipping are not part of it.
    assert D(one.total_debit) == Decimal("138.00") and D(two.total_debit) == Decimal("25.00")
    assert (two.entry_date.month, two.entry_date.day) == (3, 19)
    assert one.source_id == two.source_id == first.purchase_order_id


async def test_a_receipt_whose_total_disagrees_with_its_lines_is_rejected(env: Env) -> None:
    msg = po_received(fresh_year(), total_amount=dec("150.00"))
    assert "rejected" in await env.result(await env.publish(msg))
    [rejection] = await env.outbox("JournalEntryRejected", msg.purchase_order_id)
    assert "total_amount" in rejection.reason and "138.00" in rejection.reason
    assert await env.entries(f"procurement.receipt:{msg.purchase_order_id}:{msg.version}") == []


async def test_a_stock_gain_debits_inventory(env: Env) -> None:
    msg = stock_adjusted(
        fresh_year(), movement_type=inventory_pb.STOCK_MOVEMENT_TYPE_ADJUSTMENT, quantity=2, value=dec("15.00")
    )
    await env.result(await env.publish(msg))
    entry = await env.entry(f"inventory.adjustment:{msg.movement_id}")
    assert line_tuples(entry) == L((chart.INVENTORY, "15.00", "0"), (chart.STOCK_ADJUSTMENT, "0", "15.00"))


ZERO_VALUED: list[tuple[str, Callable[[int], Message], Callable[[Any], str], Callable[[Any], str]]] = [
    (
        "receipt-all-rejected",
        lambda year: po_received(
            year, lines=[receipt_line("SKU-A", 0, 5, "12.50")], total_amount=dec("0.00"), tax_amount=dec("0.00")
        ),
        lambda m: f"procurement.receipt:{m.purchase_order_id}:{m.version}",
        lambda m: m.purchase_order_id,
    ),
    (
        "adjustment-without-cost",
        lambda year: stock_adjusted(year, unit_cost=dec("0.00"), value=dec("0.00")),
        lambda m: f"inventory.adjustment:{m.movement_id}",
        lambda m: m.movement_id,
    ),
    (
        "fulfilment-without-cost",
        lambda year: reservation_fulfilled(year, unit_cost=dec("0"), total_cost=dec("0")),
        lambda m: f"inventory.cogs:{m.reservation_id}",
        lambda m: m.reservation_id,
    ),
]


@pytest.mark.parametrize(("make", "key", "source_id"), [z[1:] for z in ZERO_VALUED], ids=[z[0] for z in ZERO_VALUED])
async def test_zero_values_post_nothing(
    env: Env, make: Callable[[int], Message], key: Callable[[Any], str], source_id: Callable[[Any], str]
) -> None:
    msg = make(fresh_year())
    mark = await env.db.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    result = await env.result(await env.publish(msg))
    assert "skipped" in result
    assert await env.entries(key(msg)) == []
    assert await env.db.fetchval("SELECT count(*) FROM outbox WHERE id > $1", mark) == 0
