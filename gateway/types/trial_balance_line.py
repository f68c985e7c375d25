"""TrialBalanceLine (erp.accounting.v1.TrialBalanceLine): one account's row of a trial balance."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.types.account import ACCOUNT_TYPE, AccountType
from gateway.wire import amount_of


@strawberry.type(description="One account's balance, on the debit or the credit side (the other is zero).")
class TrialBalanceLine:
    account_code: str
    account_name: str
    account_type: AccountType
    debit_balance: Decimal
    credit_balance: Decimal

    @classmethod
    def from_proto(cls, m: pb.TrialBalanceLine) -> TrialBalanceLine:
        return cls(
            account_code=m.account_code,
            account_name=m.account_name,
            account_type=ACCOUNT_TYPE.from_pb(m.account_type),
            debit_balance=amount_of(m.debit_balance),
            credit_balance=amount_of(m.credit_balance),
        )
