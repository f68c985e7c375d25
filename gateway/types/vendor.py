"""The Vendor entity (erp.procurement.v1.Vendor), with its purchase orders and performance."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import strawberry
from erp.procurement.v1 import procurement_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.pagination import Connection, local_connection
from gateway.types.purchase_order import PurchaseOrder
from gateway.types.vendor_performance import VendorPerformance
from gateway.wire import datetime_of, decimal_of


@strawberry.enum(description="Whether orders may be placed with the vendor.")
class VendorStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    SUSPENDED = "SUSPENDED"


VENDOR_STATUS = ProtoEnum(VendorStatus, pb.VendorStatus, "VENDOR_STATUS_")


@strawberry.federation.type(keys=["id"], description="A supplier of goods.")
class Vendor:
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    address: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    country: str | None
    payment_terms: str | None
    tax_id: str | None
    status: VendorStatus
    rating: Decimal | None
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.Vendor) -> Vendor:
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
            payment_terms=m.payment_terms or None,
            tax_id=m.tax_id or None,
            status=VENDOR_STATUS.from_pb(m.status),
            rating=decimal_of(m.rating),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Vendor | None:
        message = await info.context.loaders.procurement.vendors.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="The vendor's purchase orders (the procurement service's order).")
    async def purchase_orders(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[PurchaseOrder]:
        orders = await info.context.loaders.procurement.vendor_orders.load(self.id)
        return local_connection(orders, PurchaseOrder.from_proto, first, after)

    @strawberry.field(description="The vendor's delivery record over time.")
    async def performance(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[VendorPerformance]:
        rows = await info.context.loaders.procurement.vendor_performance.load(self.id)
        return local_connection(rows, VendorPerformance.from_proto, first, after)
