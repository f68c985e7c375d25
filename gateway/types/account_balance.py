"""AccountBalance (erp.accounting.v1.AccountBalance): an account's balance at a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.types.account import ACCOUNT_TYPE, AccountType
from gateway.wire import amount_of, date_of


@strawberry.type(description="An account's balance at the end of a day, on the account's normal side.")
class AccountBalance:
    account_code: str
    account_name: str
    account_type: AccountType
    as_of_date: date
    total_debit: Decimal
    total_credit: Decimal
    balance: Decimal

    @classmethod
    def from_proto(cls, m: pb.AccountBalance) -> AccountBalance:
        return cls(
            account_code=m.account_code,
            account_name=m.account_name,
            account_type=ACCOUNT_TYPE.from_pb(m.account_type),
            as_of_date=date_of(m.as_of_date) or date.min,
            total_debit=amount_of(m.total_debit),
            total_credit=amount_of(m.total_credit),
            balance=amount_of(m.balance),
        )
