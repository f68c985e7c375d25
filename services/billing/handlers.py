"""What billing does on other services' events: link accounting's journal entries.

Accounting answers InvoiceIssued and CreditNoteIssued with JournalEntryPosted (source_service
"billing", source_id = the invoice or credit note id). The first non-reversing entry for an
invoice or a credit note is its posting: its id becomes accounting_transaction_id, which
InvoiceCancelled later names as the entry to reverse. Entries for anything else (payments,
reversals, unknown ids) change nothing. Setting a link is idempotent and never overwrites one.
"""

from __future__ import annotations

import uuid
from typing import Any

from erp.accounting.v1 import events_pb2 as accounting_ev

from services.billing.tables import CreditNote, Invoice
from services.runtime.consumer import Handler
from services.runtime.context import parse_uuid
from services.runtime.db import UnitOfWork
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

JOURNAL_ENTRY_POSTED = "erp.accounting.v1.JournalEntryPosted"
SOURCE_SERVICE = "billing"


async def link_journal_entry(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any] | None:
    msg = event.message
    assert isinstance(msg, accounting_ev.JournalEntryPosted)
    if msg.source_service != SOURCE_SERVICE or msg.reversal_of_id:
        return None
    source, entry = parse_uuid(msg.source_id), parse_uuid(msg.journal_entry_id)
    if source is None or entry is None:
        return {"ignored": "source_id or journal_entry_id is not a UUID"}
    invoice = await uow.session.get(Invoice, source, with_for_update=True)
    if invoice is not None:
        return _link(invoice, "invoice", entry)
    note = await uow.session.get(CreditNote, source, with_for_update=True)
    if note is not None:
        return _link(note, "credit_note", entry)
    return {"ignored": "no invoice or credit note with this id"}


def _link(row: Invoice | CreditNote, kind: str, entry: uuid.UUID) -> dict[str, Any]:
    if row.accounting_transaction_id is not None:
        return {kind: str(row.id), "already_linked": str(row.accounting_transaction_id)}
    row.accounting_transaction_id = entry
    return {kind: str(row.id), "journal_entry_id": str(entry)}


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {JOURNAL_ENTRY_POSTED: link_journal_entry}
