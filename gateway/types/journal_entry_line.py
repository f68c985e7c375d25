"""JournalEntryLine (erp.accounting.v1.JournalEntryLine): one debit or credit of an entry."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.refs import with_references
from gateway.wire import amount_of, datetime_of


@strawberry.type(description="One debit or credit of a journal entry (exactly one of the amounts is positive).")
@with_references(pb.JournalEntryLine.DESCRIPTOR)
class JournalEntryLine:
    id: strawberry.ID
    journal_entry_id: strawberry.ID
    line_number: int
    account_code: str
    description: str | None
    debit_amount: Decimal
    credit_amount: Decimal
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.JournalEntryLine) -> JournalEntryLine:
        return cls(
            id=strawberry.ID(m.id),
            journal_entry_id=strawberry.ID(m.journal_entry_id),
            line_number=m.line_number,
            account_code=m.account_code,
            description=m.description or None,
            debit_amount=amount_of(m.debit_amount),
            credit_amount=amount_of(m.credit_amount),
            create_time=datetime_of(m, "create_time"),
        )
