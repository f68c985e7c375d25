"""The Account entity (erp.accounting.v1.Account): a ledger account of the chart of accounts."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.wire import datetime_of


@strawberry.enum(description="Decides the normal side: ASSET and EXPENSE are debit-normal, the others credit-normal.")
class AccountType(enum.Enum):
    ASSET = "ASSET"
    LIABILITY = "LIABILITY"
    EQUITY = "EQUITY"
    REVENUE = "REVENUE"
    EXPENSE = "EXPENSE"


ACCOUNT_TYPE = ProtoEnum(AccountType, pb.AccountType, "ACCOUNT_TYPE_")


@strawberry.federation.type(keys=["id"], description="A ledger account.")
@with_references(pb.Account.DESCRIPTOR)
class Account:
    id: strawberry.ID
    account_code: str
    account_name: str
    account_type: AccountType
    parent_account_code: str | None
    is_active: bool
    create_time: datetime | None
    update_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.Account) -> Account:
        return cls(
            id=strawberry.ID(m.id),
            account_code=m.account_code,
            account_name=m.account_name,
            account_type=ACCOUNT_TYPE.from_pb(m.account_type),
            parent_account_code=m.parent_account_code or None,
            is_active=m.is_active,
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Account | None:
        message = await info.context.loaders.accounting.accounts.load(id)
        return None if message is None else cls.from_proto(message)
