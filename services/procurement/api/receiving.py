"""ReceivePurchaseOrder: one receipt = one unit of work = one PurchaseOrderReceived event.

It updates the lines' received/rejected quantities, the order's status (and, when the last line
is complete, actual_delivery_date, received_by and received_at), stores the receipt, and updates
the vendor's daily performance rows.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from erp.procurement.v1 import procurement_service_pb2 as api

from services.procurement import domain, mapping, performance, receiving, store
from services.procurement.api.base import ORDER, ApiBase
from services.procurement.domain import OrderStatus
from services.procurement.receiving import LineState, ReceiptLineInput
from services.procurement.tables import PurchaseOrder, PurchaseOrderReceipt
from services.runtime.context import caller_id
from services.runtime.convert import uuid_from_str
from services.runtime.errors import Validator
from services.runtime.repository import get_versioned_for_update


class ReceivingApi(ApiBase):
    async def ReceivePurchaseOrder(
        self, request: api.ReceivePurchaseOrderRequest, context_: Any
    ) -> api.ReceivePurchaseOrderResponse:
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.id, "id"))
        receipt_date = self.date_or_today(v, request.receipt_date, "receipt_date")
        inputs = [
            ReceiptLineInput(
                item_id=v.collect(
                    functools.partial(uuid_from_str, line.purchase_order_item_id, f"lines[{i}].purchase_order_item_id")
                ),
                quantity_received=line.quantity_received,
                quantity_rejected=line.quantity_rejected,
            )
            for i, line in enumerate(request.lines)
        ]
        receiving.validate_inputs(v, inputs)
        v.max_len(request.notes, "notes", domain.MAX_NOTES)
        v.raise_if_any()
        assert key is not None
        received_by = caller_id()
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, PurchaseOrder, key, request.version, ORDER)
            domain.ensure_transition(row.status, OrderStatus.PARTIALLY_RECEIVED, "receive goods for")
            history = await store.receipt_history(uow.session, row.id)
            receiving.check_receipt_date(receipt_date, row.order_date, history.last_date, self.clock.today())
            items = (await store.items_of(uow.session, [row.id]))[row.id]
            receipt = receiving.apply_receipt(
                [
                    LineState(
                        i.id, i.line_number, i.sku, i.quantity, i.unit_price, i.quantity_received, i.quantity_rejected
                    )
                    for i in items
                ],
                inputs,
                subtotal=row.subtotal,
                tax_amount=row.tax_amount,
                shipping_cost=row.shipping_cost,
            )
            for item in items:
                item.quantity_received, item.quantity_rejected = receipt.new_quantities[item.id]
            now = self.clock.now()
            row.status = receipt.status.value
            if receipt.fully_received:
                row.actual_delivery_date = receipt_date
                row.received_by = received_by
                row.received_at = now
            row.version += 1
            row.updated_at = now
            uow.session.add(
                PurchaseOrderReceipt(
                    id=uuid.uuid4(),
                    purchase_order_id=row.id,
                    receipt_number=history.count + 1,
                    receipt_date=receipt_date,
                    quantity_received=receipt.quantity_received,
                    quantity_rejected=receipt.quantity_rejected,
                    amount=receipt.amount,
                    tax_amount=receipt.tax_amount,
                    shipping_cost=receipt.shipping_cost,
                    received_by=received_by,
                    notes=request.notes.strip() or None,
                    created_at=now,
                )
            )
            deltas = performance.receipt_deltas(
                receipt_date=receipt_date,
                first_receipt_date=history.first_date,
                order_date=row.order_date,
                expected_delivery_date=row.expected_delivery_date,
                completes_order=receipt.fully_received,
                has_rejections=receipt.has_rejections,
            )
            await store.add_performance(uow.session, row.vendor_id, deltas)
            uow.record(
                mapping.order_received(row, receipt, receipt_date, received_by),
                aggregate_type="PurchaseOrder",
                aggregate_id=row.id,
                version=row.version,
            )
        return api.ReceivePurchaseOrderResponse(purchase_order=mapping.order_to_pb(row, items))
