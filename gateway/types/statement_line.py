"""StatementLine (erp.accounting.v1.StatementLine): one account's amount in a financial statement."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.types.account import ACCOUNT_TYPE, AccountType
from gateway.wire import amount_of


@strawberry.type(description="One account's amount, on its normal side.")
class StatementLine:
    account_code: str
    account_name: str
    account_type: AccountType
    amount: Decimal

    @classmethod
    def from_proto(cls, m: pb.StatementLine) -> StatementLine:
        return cls(
            account_code=m.account_code,
            account_name=m.account_name,
            account_type=ACCOUNT_TYPE.from_pb(m.account_type),
            amount=amount_of(m.amount),
        )
