"""BudgetTransaction (erp.finance.v1.BudgetTransaction): one spending charged to a budget."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.finance.v1 import finance_pb2 as pb

from gateway.refs import with_references
from gateway.wire import amount_of, date_of, datetime_of


@strawberry.type(description="One spending charged to a budget, from an accounting posting.")
@with_references(pb.BudgetTransaction.DESCRIPTOR)
class BudgetTransaction:
    id: strawberry.ID
    budget_id: strawberry.ID
    transaction_date: date | None
    amount: Decimal = strawberry.field(description="Negative for a reversal.")
    description: str | None
    reference: str | None = strawberry.field(description="E.g. the journal number.")
    source_service: str | None
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.BudgetTransaction) -> BudgetTransaction:
        return cls(
            id=strawberry.ID(m.id),
            budget_id=strawberry.ID(m.budget_id),
            transaction_date=date_of(m.transaction_date),
            amount=amount_of(m.amount),
            description=m.description or None,
            reference=m.reference or None,
            source_service=m.source_service or None,
            create_time=datetime_of(m, "create_time"),
        )
