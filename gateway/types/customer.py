"""The Customer entity (erp.billing.v1.Customer), with its invoices."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import strawberry
from erp.billing.v1 import billing_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.pagination import Connection, local_connection
from gateway.types.invoice import Invoice
from gateway.wire import amount_of, datetime_of


@strawberry.enum(description="Whether the customer may be invoiced.")
class CustomerStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    SUSPENDED = "SUSPENDED"


CUSTOMER_STATUS = ProtoEnum(CustomerStatus, pb.CustomerStatus, "CUSTOMER_STATUS_")


@strawberry.federation.type(keys=["id"], description="A customer billed by the company.")
class Customer:
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    address: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    country: str | None
    credit_limit: Decimal
    current_balance: Decimal = strawberry.field(description="Amount owed on issued invoices.")
    status: CustomerStatus
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.Customer) -> Customer:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            email=m.email or None,
            phone=m.phone or None,
            address=m.address or None,
            city=m.city or None,
            state=m.state or None,
            zip_code=m.zip_code or None,
            country=m.country or None,
            credit_limit=amount_of(m.credit_limit),
            current_balance=amount_of(m.current_balance),
            status=CUSTOMER_STATUS.from_pb(m.status),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Customer | None:
        message = await info.context.loaders.billing.customers.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="The customer's invoices (the billing service's order).")
    async def invoices(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Invoice]:
        invoices = await info.context.loaders.billing.customer_invoices.load(self.id)
        return local_connection(invoices, Invoice.from_proto, first, after)
