"""Procurement commands: vendors (create, change) and purchase orders through their lifecycle
(create, approve, mark ordered, receive, cancel).

Approving an order above the approval threshold needs the caller's identity (`x-erp-user-id`),
someone other than who created it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.types.purchase_order import PurchaseOrder
from gateway.types.vendor import VENDOR_STATUS, Vendor, VendorStatus
from gateway.wire import fill, provided
from services.runtime.convert import date_to_pb, decimal_to_pb

UNSET = strawberry.UNSET


@strawberry.input
class CreateVendorInput:
    name: str
    email: str = strawberry.field(description="Unique ordering e-mail.")
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None
    payment_terms: str | None = None
    tax_id: str | None = None
    rating: Decimal | None = None


@strawberry.input(description="Only the fields given change (null clears an optional one); `version` as last read.")
class UpdateVendorInput:
    id: strawberry.ID
    version: int
    name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    address: str | None = UNSET
    city: str | None = UNSET
    state: str | None = UNSET
    zip_code: str | None = UNSET
    country: str | None = UNSET
    payment_terms: str | None = UNSET
    tax_id: str | None = UNSET
    rating: Decimal | None = UNSET
    status: VendorStatus | None = UNSET


@strawberry.input
class PurchaseOrderItemInput:
    sku: str
    description: str
    quantity: int
    unit_price: Decimal


@strawberry.input(description="A PENDING purchase order.")
class CreatePurchaseOrderInput:
    vendor_id: strawberry.ID
    order_date: date
    items: list[PurchaseOrderItemInput]
    expected_delivery_date: date | None = None
    tax_amount: Decimal | None = None
    shipping_cost: Decimal | None = None
    notes: str | None = None
    requesting_department: str | None = None


@strawberry.input
class PurchaseOrderVersionInput:
    id: strawberry.ID
    version: int


@strawberry.input
class MarkPurchaseOrderOrderedInput:
    id: strawberry.ID
    version: int
    expected_delivery_date: date | None = None


@strawberry.input(description="What arrived (and was rejected) of one order line.")
class ReceiptLineInput:
    purchase_order_item_id: strawberry.ID
    quantity_received: int
    quantity_rejected: int = 0


@strawberry.input
class ReceivePurchaseOrderInput:
    id: strawberry.ID
    version: int
    receipt_date: date
    lines: list[ReceiptLineInput]
    notes: str | None = None


@strawberry.input
class CancelPurchaseOrderInput:
    id: strawberry.ID
    version: int
    reason: str


def _vendor(info: GatewayInfo, vendor: pb.Vendor) -> Vendor:
    info.context.loaders.remember([vendor], changed=True)
    return Vendor.from_proto(vendor)


def _order(info: GatewayInfo, order: pb.PurchaseOrder) -> PurchaseOrder:
    info.context.loaders.remember([order], changed=True)
    info.context.loaders.procurement.vendor_orders.clear_all()
    return PurchaseOrder.from_proto(order)


@strawberry.type
class ProcurementMutations:
    @strawberry.mutation(description="Creates a vendor (ACTIVE).")
    async def create_vendor(self, info: GatewayInfo, input: CreateVendorInput) -> Vendor | None:
        request = api.CreateVendorRequest()
        fill(request, provided(input))
        response = await info.context.clients.procurement.call(lambda s: s.CreateVendor(request))
        return _vendor(info, response.vendor)

    @strawberry.mutation(description="Changes the given fields; CONFLICT when `version` is stale.")
    async def update_vendor(self, info: GatewayInfo, input: UpdateVendorInput) -> Vendor | None:
        values = provided(input, exclude=frozenset({"id", "version"}))
        if not values:
            raise bad_input("input", "name at least one field to change")
        if values.get("status") is not None:
            values["status"] = VENDOR_STATUS.to_pb(values["status"])
        vendor = pb.Vendor(id=input.id)
        fill(vendor, values)
        request = api.UpdateVendorRequest(
            vendor=vendor, update_mask=FieldMask(paths=list(values)), version=input.version
        )
        response = await info.context.clients.procurement.call(lambda s: s.UpdateVendor(request))
        return _vendor(info, response.vendor)

    @strawberry.mutation(description="Creates a PENDING purchase order.")
    async def create_purchase_order(self, info: GatewayInfo, input: CreatePurchaseOrderInput) -> PurchaseOrder | None:
        request = api.CreatePurchaseOrderRequest(
            vendor_id=input.vendor_id,
            order_date=date_to_pb(input.order_date),
            expected_delivery_date=date_to_pb(input.expected_delivery_date),
            tax_amount=decimal_to_pb(input.tax_amount),
            shipping_cost=decimal_to_pb(input.shipping_cost),
            notes=input.notes or "",
            requesting_department=input.requesting_department or "",
            items=[
                api.PurchaseOrderItemInput(
                    sku=item.sku,
                    description=item.description,
                    quantity=item.quantity,
                    unit_price=decimal_to_pb(item.unit_price),
                )
                for item in input.items
            ],
        )
        response = await info.context.clients.procurement.call(lambda s: s.CreatePurchaseOrder(request))
        return _order(info, response.purchase_order)

    @strawberry.mutation(description="Approves a PENDING order (above the threshold: not by who created it).")
    async def approve_purchase_order(self, info: GatewayInfo, input: PurchaseOrderVersionInput) -> PurchaseOrder | None:
        request = api.ApprovePurchaseOrderRequest(id=input.id, version=input.version)
        response = await info.context.clients.procurement.call(lambda s: s.ApprovePurchaseOrder(request))
        return _order(info, response.purchase_order)

    @strawberry.mutation(description="Records that an APPROVED order was placed with the vendor (ORDERED).")
    async def mark_purchase_order_ordered(
        self, info: GatewayInfo, input: MarkPurchaseOrderOrderedInput
    ) -> PurchaseOrder | None:
        request = api.MarkPurchaseOrderOrderedRequest(
            id=input.id, version=input.version, expected_delivery_date=date_to_pb(input.expected_delivery_date)
        )
        response = await info.context.clients.procurement.call(lambda s: s.MarkPurchaseOrderOrdered(request))
        return _order(info, response.purchase_order)

    @strawberry.mutation(description="Records goods received; inventory adds the stock, accounting posts the receipt.")
    async def receive_purchase_order(self, info: GatewayInfo, input: ReceivePurchaseOrderInput) -> PurchaseOrder | None:
        request = api.ReceivePurchaseOrderRequest(
            id=input.id,
            version=input.version,
            receipt_date=date_to_pb(input.receipt_date),
            notes=input.notes or "",
            lines=[
                api.ReceiptLineInput(
                    purchase_order_item_id=line.purchase_order_item_id,
                    quantity_received=line.quantity_received,
                    quantity_rejected=line.quantity_rejected,
                )
                for line in input.lines
            ],
        )
        response = await info.context.clients.procurement.call(lambda s: s.ReceivePurchaseOrder(request))
        return _order(info, response.purchase_order)

    @strawberry.mutation(description="Cancels an order before any receipt.")
    async def cancel_purchase_order(self, info: GatewayInfo, input: CancelPurchaseOrderInput) -> PurchaseOrder | None:
        request = api.CancelPurchaseOrderRequest(id=input.id, version=input.version, reason=input.reason)
        response = await info.context.clients.procurement.call(lambda s: s.CancelPurchaseOrder(request))
        return _order(info, response.purchase_order)
