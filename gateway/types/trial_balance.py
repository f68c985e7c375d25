"""TrialBalance (erp.accounting.v1.TrialBalance): every account with a non-zero balance at a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.types.trial_balance_line import TrialBalanceLine
from gateway.wire import amount_of, date_of


@strawberry.type(description="Every account with a non-zero balance at the end of a day.")
class TrialBalance:
    as_of_date: date
    lines: list[TrialBalanceLine] = strawberry.field(description="Ordered by account code.")
    total_debit: Decimal
    total_credit: Decimal
    balanced: bool

    @classmethod
    def from_proto(cls, m: pb.TrialBalance) -> TrialBalance:
        return cls(
            as_of_date=date_of(m.as_of_date) or date.min,
            lines=[TrialBalanceLine.from_proto(line) for line in m.lines],
            total_debit=amount_of(m.total_debit),
            total_credit=amount_of(m.total_credit),
            balanced=m.balanced,
        )
