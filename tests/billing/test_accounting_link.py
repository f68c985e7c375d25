"""Billing follows accounting's JournalEntryPosted: the posting of an invoice (or a credit note)
becomes its accounting_transaction_id, which InvoiceCancelled then names for the reversal."""

from __future__ import annotations

import uuid

import asyncpg
from erp.accounting.v1 import events_pb2 as accounting_ev
from erp.billing.v1 import billing_service_pb2 as api
from nats.aio.client import Client

from services.runtime.context import CallContext
from services.runtime.events import build_headers, event_subject
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from tests.billing.helpers import FIXED_NOW, Stub, credit, get_invoice, issued_invoice
from tests.billing.probes import only, recorded_events
from tests.runtime.helpers import eventually

POSTED = "erp.accounting.v1.JournalEntryPosted"


async def publish_posting(
    nats_client: Client, settings: Settings, source_id: str, *, reversal_of: str = "", service: str = "billing"
) -> tuple[str, uuid.UUID]:
    """Publish a JournalEntryPosted as accounting would; returns (journal entry id, event id)."""
    entry_id, event_id = uuid.uuid4(), uuid.uuid4()
    msg = accounting_ev.JournalEntryPosted(
        journal_entry_id=str(entry_id),
        journal_number=f"JE-{entry_id.hex[:6]}",
        source_service=service,
        source_id=source_id,
        reversal_of_id=reversal_of,
    )
    headers = build_headers(
        event_id=event_id, event_type=POSTED, aggregate_id=str(entry_id), ctx=CallContext(), occurred_at=FIXED_NOW
    )
    await nats_client.jetstream().publish(
        event_subject(settings.subject_root, POSTED), msg.SerializeToString(), headers=headers
    )
    return str(entry_id), event_id


async def all_handled(db: asyncpg.Connection, event_ids: list[uuid.UUID]) -> bool:
    handled = await db.fetchval("SELECT count(*) FROM processed_events WHERE event_id = ANY($1::uuid[])", event_ids)
    return bool(handled == len(event_ids))


async def test_postings_link_invoices_and_credit_notes(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings, billing_service: RunningService
) -> None:
    inv = await issued_invoice(stub)
    note = (await credit(stub, inv, "5.00")).credit_note
    # Not ours, a reversal, an unknown id: ignored. Then the real postings.
    published = [
        await publish_posting(nats_client, settings, inv.id, service="payroll"),
        await publish_posting(nats_client, settings, inv.id, reversal_of=str(uuid.uuid4())),
        await publish_posting(nats_client, settings, str(uuid.uuid4())),
        await publish_posting(nats_client, settings, inv.id),
        await publish_posting(nats_client, settings, note.id),
        await publish_posting(nats_client, settings, inv.id),  # a later entry (a payment's?) keeps the first link
    ]
    invoice_entry, note_entry = published[3][0], published[4][0]
    await eventually(lambda: all_handled(db, [event_id for _, event_id in published]), timeout_s=15)
    assert (await get_invoice(stub, inv.id)).accounting_transaction_id == invoice_entry
    notes = await stub.ListCreditNotes(api.ListCreditNotesRequest(invoice_id=inv.id))
    assert [n.accounting_transaction_id for n in notes.credit_notes] == [note_entry]


async def test_cancelling_names_the_posting_to_reverse(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings, billing_service: RunningService
) -> None:
    inv = await issued_invoice(stub)
    entry, _ = await publish_posting(nats_client, settings, inv.id)

    async def linked() -> bool:
        return (await get_invoice(stub, inv.id)).accounting_transaction_id == entry

    await eventually(linked, timeout_s=15)
    async with recorded_events(db, inv.id) as events:
        await stub.CancelInvoice(api.CancelInvoiceRequest(id=inv.id, reason="duplicate"))
    assert only(events, "InvoiceCancelled").accounting_transaction_id == entry
