"""The JournalEntry entity (erp.accounting.v1.JournalEntry), with its lines and its source."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.refs import ENTITY_TYPES, with_references
from gateway.types.journal_entry_line import JournalEntryLine
from gateway.types.journal_entry_source import JournalEntrySource
from gateway.wire import amount_of, date_of, datetime_of, id_or_none


@strawberry.enum(description="DRAFT -> POSTED -> REVERSED (a reversed entry stays in the ledger).")
class JournalEntryStatus(enum.Enum):
    DRAFT = "DRAFT"
    POSTED = "POSTED"
    REVERSED = "REVERSED"


ENTRY_STATUS = ProtoEnum(JournalEntryStatus, pb.JournalEntryStatus, "JOURNAL_ENTRY_STATUS_")

# source_service -> the entity message its source_id names.
SOURCES: dict[str, str] = {
    "payroll": "erp.payroll.v1.PayrollRecord",
    "billing": "erp.billing.v1.Invoice",  # credit notes and payments have no by-id RPC: their source is null
    "procurement": "erp.procurement.v1.PurchaseOrder",
}


@strawberry.federation.type(keys=["id"], description="A balanced double-entry posting.")
@with_references(pb.JournalEntry.DESCRIPTOR)
class JournalEntry:
    id: strawberry.ID
    journal_number: str
    entry_date: date
    description: str | None
    reference: str | None
    source_service: str = strawberry.field(description='"manual", "payroll", "billing", "procurement", ...')
    source_id: strawberry.ID | None
    department: str | None
    total_debit: Decimal
    total_credit: Decimal
    status: JournalEntryStatus
    posted_by: strawberry.ID | None
    posted_at: datetime | None
    reversal_of_id: strawberry.ID | None
    reversed_by_id: strawberry.ID | None
    lines: list[JournalEntryLine] = strawberry.field(description="Ordered by line number.")
    create_time: datetime | None
    update_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.JournalEntry) -> JournalEntry:
        return cls(
            id=strawberry.ID(m.id),
            journal_number=m.journal_number,
            entry_date=date_of(m.entry_date) or date.min,
            description=m.description or None,
            reference=m.reference or None,
            source_service=m.source_service,
            source_id=id_or_none(m.source_id),
            department=m.department or None,
            total_debit=amount_of(m.total_debit),
            total_credit=amount_of(m.total_credit),
            status=ENTRY_STATUS.from_pb(m.status),
            posted_by=id_or_none(m.posted_by),
            posted_at=datetime_of(m, "posted_at"),
            reversal_of_id=id_or_none(m.reversal_of_id),
            reversed_by_id=id_or_none(m.reversed_by_id),
            lines=[JournalEntryLine.from_proto(line) for line in m.lines],
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> JournalEntry | None:
        message = await info.context.loaders.accounting.journal_entries.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="What the entry was posted for (null for manual entries and unknown sources).")
    async def source(self, info: GatewayInfo) -> JournalEntrySource | None:
        target = SOURCES.get(self.source_service)
        if target is None or not self.source_id:
            return None
        message = await info.context.loaders.for_entity(target).load(self.source_id)
        return None if message is None else ENTITY_TYPES[target].resolve().from_proto(message)
