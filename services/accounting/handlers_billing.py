"""Postings requested by billing events (source_service "billing").

| event | entry | posting key | date |
|---|---|---|---|
| InvoiceIssued | Dr 1200 total / Cr 4100 subtotal, Cr 2300 tax | `billing.invoice:<invoice>` | invoice date |
| InvoiceCancelled | the mirror of the invoice's entry (a reversal) | `billing.invoice-cancel:<invoice>` | see below |
| PaymentRecorded | Dr 1010 / Cr 1200 amount | `billing.payment:<payment>` | payment date |
| CreditNoteIssued | Dr 4100 amount, Dr 2300 tax / Cr 1200 total | `billing.credit-note:<note>` | issue date |

Zero lines are left out (an invoice without tax has no 2300 line). The entry's source_id is the
document the key names (invoice, payment, credit note): billing links the first non-reversing
JournalEntryPosted of an invoice or a credit note as its accounting_transaction_id, so a
payment's entry (source_id = payment) never takes an invoice's link. The reference is the
document number (invoice number, credit note number; the invoice number for a payment).

Cancelling a sent invoice reverses its posting like ReverseJournalEntry does: the mirror entry
(reversal_of_id = the original, posted through post_entry with its own posting key), the original
marked REVERSED, JournalEntryReversed recorded. The original is found by its posting key (or by
the event's accounting_transaction_id, should billing name an entry without one). The reversal is
dated by the event's cancellation_date (billing's business day; for events from before that field,
the event's `ce-time` in UTC), never before the original. A cancelled draft (previous status
PENDING) was never posted: nothing to do.
A sent invoice without a posting to reverse (its InvoiceIssued was rejected, say) is rejected.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from erp.billing.v1 import billing_pb2 as billing_pb
from erp.billing.v1 import events_pb2 as billing_ev
from sqlalchemy import select

from services.accounting import chart, domain, mapping
from services.accounting.handlers import (
    NothingToPost,
    PostingRequest,
    answer_request,
    money,
    nonzero_lines,
    posting_handler,
)
from services.accounting.posting import Posting, by_posting_key, post_entry
from services.accounting.tables import JournalEntry
from services.runtime.clock import Clock
from services.runtime.consumer import Handler
from services.runtime.convert import date_from_pb, uuid_from_str
from services.runtime.db import UnitOfWork
from services.runtime.errors import FailedPrecondition
from services.runtime.events import H_TIME, ReceivedEvent
from services.runtime.service import ServiceDeps

SOURCE = "billing"
INVOICE_ISSUED = "erp.billing.v1.InvoiceIssued"
INVOICE_CANCELLED = "erp.billing.v1.InvoiceCancelled"
PAYMENT_RECORDED = "erp.billing.v1.PaymentRecorded"
CREDIT_NOTE_ISSUED = "erp.billing.v1.CreditNoteIssued"


def invoice_key(invoice_id: str) -> str:
    return f"billing.invoice:{invoice_id}"


def cancel_key(invoice_id: str) -> str:
    return f"billing.invoice-cancel:{invoice_id}"


def _required_date(value: Any, field: str) -> date:
    parsed = date_from_pb(value, field)
    assert parsed is not None
    return parsed


def _reference(number: str, key: str) -> str:
    return (number or key)[:100]


def invoice_issued(msg: billing_ev.InvoiceIssued) -> PostingRequest:
    """Dr Accounts Receivable (total) = Cr Sales Revenue (subtotal) + Cr Sales Tax Payable (tax)."""
    key = invoice_key(msg.invoice_id)
    reference = _reference(msg.invoice_number, key)

    def draft() -> domain.Draft:
        invoice_id = uuid_from_str(msg.invoice_id, "invoice_id")
        invoice_date = _required_date(msg.invoice_date, "invoice_date")
        subtotal = money(msg.subtotal, "subtotal")
        tax = money(msg.tax_amount, "tax_amount", required=False)
        total = money(msg.total_amount, "total_amount")
        customer = msg.customer_name or msg.customer_id
        return domain.Draft(
            entry_date=invoice_date,
            lines=nonzero_lines(
                domain.DraftLine(chart.ACCOUNTS_RECEIVABLE, debit=total, description=f"Invoice to {customer}"),
                domain.DraftLine(chart.SALES_REVENUE, credit=subtotal, description="Sales"),
                domain.DraftLine(chart.SALES_TAX_PAYABLE, credit=tax, description="Sales tax"),
            ),
            description=f"Invoice {reference}, {customer}"[:2000],
            reference=reference,
            source_service=SOURCE,
            source_id=invoice_id,
            posting_key=key,
        )

    return PostingRequest(msg.invoice_id, reference, draft)


def payment_recorded(msg: billing_ev.PaymentRecorded) -> PostingRequest:
    """Dr Cash = Cr Accounts Receivable (amount received)."""
    key = f"billing.payment:{msg.payment_id}"
    reference = _reference(msg.invoice_number, key)

    def draft() -> domain.Draft:
        payment_id = uuid_from_str(msg.payment_id, "payment_id")
        paid_on = _required_date(msg.payment_date, "payment_date")
        amount = money(msg.amount, "amount")
        via = f" ({msg.reference})" if msg.reference else ""
        return domain.Draft(
            entry_date=paid_on,
            lines=nonzero_lines(
                domain.DraftLine(chart.CASH, debit=amount, description=f"Payment received{via}"[:2000]),
                domain.DraftLine(chart.ACCOUNTS_RECEIVABLE, credit=amount, description=f"Invoice {reference}"),
            ),
            description=f"Payment of invoice {reference}{via}"[:2000],
            reference=reference,
            source_service=SOURCE,
            source_id=payment_id,
            posting_key=key,
        )

    return PostingRequest(msg.payment_id, reference, draft)


def credit_note_issued(msg: billing_ev.CreditNoteIssued) -> PostingRequest:
    """Dr Sales Revenue (amount) + Dr Sales Tax Payable (tax) = Cr Accounts Receivable (total)."""
    key = f"billing.credit-note:{msg.credit_note_id}"
    reference = _reference(msg.credit_note_number, key)

    def draft() -> domain.Draft:
        note_id = uuid_from_str(msg.credit_note_id, "credit_note_id")
        issued_on = _required_date(msg.issue_date, "issue_date")
        amount = money(msg.amount, "amount")
        tax = money(msg.tax_amount, "tax_amount", required=False)
        total = money(msg.total_amount, "total_amount")
        why = f": {msg.reason}" if msg.reason else ""
        return domain.Draft(
            entry_date=issued_on,
            lines=nonzero_lines(
                domain.DraftLine(chart.SALES_REVENUE, debit=amount, description="Sales credited"),
                domain.DraftLine(chart.SALES_TAX_PAYABLE, debit=tax, description="Sales tax credited"),
                domain.DraftLine(
                    chart.ACCOUNTS_RECEIVABLE, credit=total, description=f"Credit on invoice {msg.invoice_number}"
                ),
            ),
            description=f"Credit note {reference} on invoice {msg.invoice_number}{why}"[:2000],
            reference=reference,
            source_service=SOURCE,
            source_id=note_id,
            posting_key=key,
        )

    return PostingRequest(msg.credit_note_id, reference, draft)


# ---- cancellation: a reversal of the invoice's posting ---------------------------------------------

NEVER_POSTED = frozenset({billing_pb.INVOICE_STATUS_UNSPECIFIED, billing_pb.INVOICE_STATUS_PENDING})


def event_date(event: ReceivedEvent, now: datetime) -> date:
    """The day the event happened (its `ce-time`, UTC); `now` when the header is missing or bad."""
    raw = event.headers.get(H_TIME, "")
    try:
        at = datetime.fromisoformat(raw) if raw else now
    except ValueError:
        at = now
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).date()


async def _original(uow: UnitOfWork, msg: billing_ev.InvoiceCancelled) -> JournalEntry | None:
    """The invoice's posting, row-locked (as ReverseJournalEntry locks it, before the posting key)."""
    stmt = select(JournalEntry).where(JournalEntry.posting_key == invoice_key(msg.invoice_id))
    found = (await uow.session.execute(stmt.with_for_update())).scalar_one_or_none()
    if found is not None or not msg.accounting_transaction_id:
        return found
    entry_id = uuid_from_str(msg.accounting_transaction_id, "accounting_transaction_id")
    named = await uow.session.get(JournalEntry, entry_id, with_for_update=True)
    if named is None or named.source_service != SOURCE or str(named.source_id) != msg.invoice_id:
        return None
    return named


async def reverse_invoice(
    uow: UnitOfWork, event: ReceivedEvent, msg: billing_ev.InvoiceCancelled, now: datetime
) -> Posting:
    """Post the mirror of the invoice's entry and mark the original REVERSED; a repeated
    cancellation finds its reversal by posting key and only re-announces it."""
    uuid_from_str(msg.invoice_id, "invoice_id")
    number = msg.invoice_number or msg.invoice_id
    if msg.previous_status in NEVER_POSTED:
        raise NothingToPost(f"invoice {number} was cancelled as a draft: it was never posted")
    original = await _original(uow, msg)
    if original is None:
        raise FailedPrecondition(f"invoice {number} has no posted journal entry to reverse")
    key = cancel_key(msg.invoice_id)
    reason = (f"invoice {number} cancelled" + (f": {msg.reason}" if msg.reason else ""))[:500]
    cancelled_on = date_from_pb(msg.cancellation_date, "cancellation_date", required=False)
    on = max(cancelled_on or event_date(event, now), original.entry_date)
    draft = replace(
        domain.reversal_draft(mapping.draft_of(original), original.id, on, reason, original.journal_number),
        reference=_reference(msg.invoice_number, key),
        source_service=SOURCE,
        source_id=original.source_id,
        posting_key=key,
    )
    # The original's row lock serializes cancellations of one invoice, so this look-up is stable.
    if await by_posting_key(uow.session, key) is None:
        domain.ensure_can_reverse(original.status, original.journal_number, is_closing=original.is_closing)
    posting = await post_entry(uow, draft, now=now)
    if posting.duplicate:
        return posting
    original.status = domain.EntryStatus.REVERSED.value
    original.reversed_by_id = posting.entry.id
    original.updated_at = now
    await uow.session.flush()
    uow.record(
        mapping.journal_entry_reversed(original, posting.entry, reason, posting.account_types),
        aggregate_type="JournalEntry",
        aggregate_id=original.id,
    )
    return posting


def invoice_cancelled(clock: Clock) -> Handler:
    async def handle(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, billing_ev.InvoiceCancelled)

        async def post() -> Posting:
            return await reverse_invoice(uow, event, msg, clock.now())

        reference = _reference(msg.invoice_number, cancel_key(msg.invoice_id))
        return await answer_request(uow, event, msg.invoice_id, reference, post)

    return handle


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {
        INVOICE_ISSUED: posting_handler(invoice_issued, deps.clock),
        INVOICE_CANCELLED: invoice_cancelled(deps.clock),
        PAYMENT_RECORDED: posting_handler(payment_recorded, deps.clock),
        CREDIT_NOTE_ISSUED: posting_handler(credit_note_issued, deps.clock),
    }
