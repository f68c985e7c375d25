"""BalanceSheet (erp.accounting.v1.BalanceSheet): assets, liabilities and equity at a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.types.statement_line import StatementLine
from gateway.wire import amount_of, date_of


@strawberry.type(description="Assets, liabilities and equity at the end of a day.")
class BalanceSheet:
    as_of_date: date
    assets: list[StatementLine]
    liabilities: list[StatementLine]
    equity: list[StatementLine]
    current_earnings: Decimal = strawberry.field(description="Net income of the open year not yet closed.")
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal
    balanced: bool

    @classmethod
    def from_proto(cls, m: pb.BalanceSheet) -> BalanceSheet:
        return cls(
            as_of_date=date_of(m.as_of_date) or date.min,
            assets=[StatementLine.from_proto(line) for line in m.assets],
            liabilities=[StatementLine.from_proto(line) for line in m.liabilities],
            equity=[StatementLine.from_proto(line) for line in m.equity],
            current_earnings=amount_of(m.current_earnings),
            total_assets=amount_of(m.total_assets),
            total_liabilities=amount_of(m.total_liabilities),
            total_equity=amount_of(m.total_equity),
            balanced=m.balanced,
        )
