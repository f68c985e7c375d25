"""Purchase order lifecycle verbs: approve (separation of duties), mark ordered, cancel.

Each locks the order (optimistic version check), lets the domain decide whether the transition
is allowed, changes it and records one event, in one unit of work.
"""

from __future__ import annotations

from typing import Any

from erp.procurement.v1 import procurement_service_pb2 as api

from services.procurement import domain, mapping, store
from services.procurement.api.base import ORDER, ApiBase
from services.procurement.domain import OrderStatus
from services.procurement.purchasing import vendor_for_order
from services.procurement.tables import PurchaseOrder
from services.runtime.context import caller_id
from services.runtime.convert import date_from_pb, uuid_from_str
from services.runtime.errors import Validator
from services.runtime.repository import get_versioned_for_update


class LifecycleApi(ApiBase):
    async def ApprovePurchaseOrder(
        self, request: api.ApprovePurchaseOrderRequest, context_: Any
    ) -> api.ApprovePurchaseOrderResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        approver = caller_id()
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, PurchaseOrder, key, request.version, ORDER)
            domain.ensure_transition(row.status, OrderStatus.APPROVED, "approve")
            domain.ensure_approver(row.total_amount, self.config.approval_threshold, row.created_by, approver)
            now = self.clock.now()
            row.status = OrderStatus.APPROVED.value
            row.approved_by = approver
            row.approved_at = now
            row.version += 1
            row.updated_at = now
            uow.record(
                mapping.order_approved(row), aggregate_type="PurchaseOrder", aggregate_id=row.id, version=row.version
            )
            items = (await store.items_of(uow.session, [row.id]))[row.id]
        return api.ApprovePurchaseOrderResponse(purchase_order=mapping.order_to_pb(row, items))

    async def MarkPurchaseOrderOrdered(
        self, request: api.MarkPurchaseOrderOrderedRequest, context_: Any
    ) -> api.MarkPurchaseOrderOrderedResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        expected = date_from_pb(request.expected_delivery_date, "expected_delivery_date", required=False)
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, PurchaseOrder, key, request.version, ORDER)
            domain.ensure_transition(row.status, OrderStatus.ORDERED, "mark as ordered")
            await vendor_for_order(uow.session, row.vendor_id)
            if expected is not None:
                v = Validator()
                domain.check_dates(v, row.order_date, expected, "expected_delivery_date")
                v.raise_if_any()
                row.expected_delivery_date = expected
            now = self.clock.now()
            row.status = OrderStatus.ORDERED.value
            row.ordered_at = now
            row.version += 1
            row.updated_at = now
            items = (await store.items_of(uow.session, [row.id]))[row.id]
            uow.record(
                mapping.order_ordered(row, items),
                aggregate_type="PurchaseOrder",
                aggregate_id=row.id,
                version=row.version,
            )
        return api.MarkPurchaseOrderOrderedResponse(purchase_order=mapping.order_to_pb(row, items))

    async def CancelPurchaseOrder(
        self, request: api.CancelPurchaseOrderRequest, context_: Any
    ) -> api.CancelPurchaseOrderResponse:
        key = uuid_from_str(request.id, "id")
        reason = request.reason.strip()
        v = Validator()
        v.require(reason, "reason")
        v.max_len(reason, "reason", domain.MAX_REASON)
        v.raise_if_any()
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, PurchaseOrder, key, request.version, ORDER)
            domain.ensure_can_cancel(row.status)
            previous = row.status
            now = self.clock.now()
            row.status = OrderStatus.CANCELLED.value
            row.notes = domain.cancellation_notes(row.notes, reason)
            row.version += 1
            row.updated_at = now
            items = (await store.items_of(uow.session, [row.id]))[row.id]
            uow.record(
                mapping.order_cancelled(row, items, previous, reason),
                aggregate_type="PurchaseOrder",
                aggregate_id=row.id,
                version=row.version,
            )
        return api.CancelPurchaseOrderResponse(purchase_order=mapping.order_to_pb(row, items))
