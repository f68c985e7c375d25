"""Purchase orders: get, batch get, list, create (PENDING, numbered gap-free), update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from erp.procurement.v1 import procurement_service_pb2 as api
from sqlalchemy import delete, exists, select

from services.procurement import domain, mapping, store
from services.procurement.api.base import (
    ORDER,
    ApiBase,
    check_range,
    order_with_items,
    parse_lines,
)
from services.procurement.pricing import (
    ZERO,
    LineInput,
    order_totals,
    validate_charges,
    validate_totals,
)
from services.procurement.purchasing import OrderDraft, create_order, new_items, vendor_for_order
from services.procurement.tables import PurchaseOrder, PurchaseOrderItem
from services.runtime.context import caller_id
from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import batch_get, get_versioned_for_update, list_page


def _line_key(lines: list[LineInput]) -> list[tuple[str, str, int, Any]]:
    return [(li.sku, li.description, li.quantity, li.unit_price) for li in lines]


def _item_key(items: list[PurchaseOrderItem]) -> list[tuple[str, str, int, Any]]:
    return [(i.sku, i.description, i.quantity, i.unit_price) for i in items]


class OrdersApi(ApiBase):
    async def GetPurchaseOrder(
        self, request: api.GetPurchaseOrderRequest, context_: Any
    ) -> api.GetPurchaseOrderResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row, items = await order_with_items(s, key)
        return api.GetPurchaseOrderResponse(purchase_order=mapping.order_to_pb(row, items))

    async def BatchGetPurchaseOrders(
        self, request: api.BatchGetPurchaseOrdersRequest, context_: Any
    ) -> api.BatchGetPurchaseOrdersResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, PurchaseOrder, keys)
            items = await store.items_of(s, [r.id for r in rows])
        return api.BatchGetPurchaseOrdersResponse(purchase_orders=[mapping.order_to_pb(r, items[r.id]) for r in rows])

    async def ListPurchaseOrders(
        self, request: api.ListPurchaseOrdersRequest, context_: Any
    ) -> api.ListPurchaseOrdersResponse:
        v = Validator()
        vendors = v.collect(lambda: uuids_from_strs(list(request.vendor_ids), "vendor_ids")) or []
        statuses = v.enum_values(request.statuses, mapping.ORDER_STATUS_FROM_PB, "statuses")
        start = v.collect(lambda: date_from_pb(request.order_date_from, "order_date_from", required=False))
        end = v.collect(lambda: date_from_pb(request.order_date_to, "order_date_to", required=False))
        v.raise_if_any()
        check_range(start, end, "order_date_to")
        stmt = select(PurchaseOrder)
        if vendors:
            stmt = stmt.where(PurchaseOrder.vendor_id.in_(vendors))
        if statuses:
            stmt = stmt.where(PurchaseOrder.status.in_(statuses))
        if start is not None:
            stmt = stmt.where(PurchaseOrder.order_date >= start)
        if end is not None:
            stmt = stmt.where(PurchaseOrder.order_date <= end)
        if request.requesting_department:
            stmt = stmt.where(PurchaseOrder.requesting_department == request.requesting_department)
        if request.po_number:
            stmt = stmt.where(PurchaseOrder.po_number == request.po_number.strip())
        if request.sku:
            stmt = stmt.where(
                exists().where(
                    PurchaseOrderItem.purchase_order_id == PurchaseOrder.id, PurchaseOrderItem.sku == request.sku
                )
            )
        filters = (
            sorted(map(str, vendors)),
            sorted(statuses),
            str(start),
            str(end),
            request.requesting_department,
            request.sku,
            request.po_number,
        )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [PurchaseOrder.order_date, PurchaseOrder.po_number],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
            items = await store.items_of(s, [r.id for r in page.items])
        return api.ListPurchaseOrdersResponse(
            purchase_orders=[mapping.order_to_pb(r, items[r.id]) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CreatePurchaseOrder(
        self, request: api.CreatePurchaseOrderRequest, context_: Any
    ) -> api.CreatePurchaseOrderResponse:
        v = Validator()
        vendor_id = v.collect(lambda: uuid_from_str(request.vendor_id, "vendor_id"))
        order_date = self.date_or_today(v, request.order_date, "order_date")
        expected = v.collect(
            lambda: date_from_pb(request.expected_delivery_date, "expected_delivery_date", required=False)
        )
        tax = v.collect(lambda: money_from_pb(request.tax_amount, "tax_amount", required=False))
        shipping = v.collect(lambda: money_from_pb(request.shipping_cost, "shipping_cost", required=False))
        lines = parse_lines(v, request.items, "items")
        validate_charges(v, tax, shipping)
        domain.check_dates(v, order_date, expected, "expected_delivery_date")
        domain.validate_order_text(v, request.notes, request.requesting_department)
        if not v.violations:
            validate_totals(v, order_totals(lines, tax or ZERO, shipping or ZERO))
        v.raise_if_any()
        assert vendor_id is not None
        draft = OrderDraft(
            vendor_id=vendor_id,
            order_date=order_date,
            expected_delivery_date=expected,
            tax_amount=tax or ZERO,
            shipping_cost=shipping or ZERO,
            notes=request.notes.strip() or None,
            requesting_department=request.requesting_department.strip() or None,
            lines=lines,
            created_by=caller_id(),
        )
        async with self.db.unit_of_work() as uow:
            row, items = await create_order(uow, draft, self.clock.now())
        return api.CreatePurchaseOrderResponse(purchase_order=mapping.order_to_pb(row, items))

    async def UpdatePurchaseOrder(
        self, request: api.UpdatePurchaseOrderRequest, context_: Any
    ) -> api.UpdatePurchaseOrderResponse:
        paths = list(dict.fromkeys(request.update_mask.paths))
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - domain.UPDATABLE_ORDER_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        o = request.purchase_order
        key = uuid_from_str(o.id, "purchase_order.id")
        assert key is not None
        v = Validator()
        parsers: dict[str, Callable[[], Any]] = {
            "vendor_id": lambda: uuid_from_str(o.vendor_id, "purchase_order.vendor_id"),
            "order_date": lambda: date_from_pb(o.order_date, "purchase_order.order_date"),
            "expected_delivery_date": lambda: date_from_pb(
                o.expected_delivery_date, "purchase_order.expected_delivery_date", required=False
            ),
            "tax_amount": lambda: money_from_pb(o.tax_amount, "purchase_order.tax_amount", required=False) or ZERO,
            "shipping_cost": lambda: (
                money_from_pb(o.shipping_cost, "purchase_order.shipping_cost", required=False) or ZERO
            ),
            "notes": lambda: o.notes.strip() or None,
            "requesting_department": lambda: o.requesting_department.strip() or None,
            "items": lambda: parse_lines(v, request.replacement_items, "replacement_items"),
        }
        values: dict[str, Any] = {p: v.collect(parsers[p]) for p in paths}
        validate_charges(v, values.get("tax_amount"), values.get("shipping_cost"), "purchase_order.")
        domain.validate_order_text(v, values.get("notes"), values.get("requesting_department"), "purchase_order.")
        v.raise_if_any()
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, PurchaseOrder, key, request.version, ORDER)
            domain.ensure_can_update(row.status, paths)
            items = (await store.items_of(uow.session, [row.id]))[row.id]
            if "vendor_id" in values and values["vendor_id"] != row.vendor_id:
                await vendor_for_order(uow.session, values["vendor_id"], "purchase_order.vendor_id")
            checks = Validator()
            domain.check_dates(
                checks,
                values.get("order_date", row.order_date),
                values.get("expected_delivery_date", row.expected_delivery_date),
                "purchase_order.expected_delivery_date",
            )
            new_lines: list[LineInput] | None = values.pop("items", None)
            if new_lines is not None and _line_key(new_lines) == _item_key(items):
                new_lines = None
            current = [LineInput(i.sku, i.description, i.quantity, i.unit_price) for i in items]
            totals = order_totals(
                new_lines if new_lines is not None else current,
                values.get("tax_amount", row.tax_amount),
                values.get("shipping_cost", row.shipping_cost),
            )
            validate_totals(checks, totals, "replacement_items" if new_lines is not None else "purchase_order")
            checks.raise_if_any()
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            now = self.clock.now()
            if new_lines is not None:
                await uow.session.execute(
                    delete(PurchaseOrderItem).where(PurchaseOrderItem.purchase_order_id == row.id)
                )
                items = new_items(row.id, new_lines, now)
                uow.session.add_all(items)
                changed.append("items")
            if changed:
                for name in changed:
                    if name != "items":
                        setattr(row, name, values[name])
                row.subtotal, row.total_amount = totals.subtotal, totals.total_amount
                row.version += 1
                row.updated_at = now
                uow.record(
                    mapping.order_updated(row, items, changed),
                    aggregate_type="PurchaseOrder",
                    aggregate_id=row.id,
                    version=row.version,
                )
        return api.UpdatePurchaseOrderResponse(purchase_order=mapping.order_to_pb(row, items))
