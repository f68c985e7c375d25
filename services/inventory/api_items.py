"""InventoryService, items: get, batch get (by id or SKU), list, create, update."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.inventory import domain, mapping
from services.inventory.api_base import ApiBase, enums_from_pb
from services.inventory.stock import ITEM, MovementSpec, check_reorder, levels_changed, write_movement
from services.inventory.tables import InventoryItem
from services.runtime.context import caller_id
from services.runtime.convert import money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page

UNIQUE_MESSAGES = {"uq_inventory_items_sku": "an inventory item with this SKU already exists"}
OPENING_STOCK_REASON = "opening stock"


class ItemsApi(ApiBase):
    async def GetInventoryItem(
        self, request: api.GetInventoryItemRequest, context_: Any
    ) -> api.GetInventoryItemResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, InventoryItem, key, ITEM)
        return api.GetInventoryItemResponse(inventory_item=mapping.item_to_pb(row))

    async def BatchGetInventoryItems(
        self, request: api.BatchGetInventoryItemsRequest, context_: Any
    ) -> api.BatchGetInventoryItemsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, InventoryItem, keys)
        return api.BatchGetInventoryItemsResponse(inventory_items=[mapping.item_to_pb(r) for r in rows])

    async def BatchGetInventoryItemsBySku(
        self, request: api.BatchGetInventoryItemsBySkuRequest, context_: Any
    ) -> api.BatchGetInventoryItemsBySkuResponse:
        skus = set(request.skus)
        if len(request.skus) > 1000:
            raise InvalidArgument.field("skus", "at most 1000 SKUs per call")
        rows: list[InventoryItem] = []
        if skus:
            async with self.db.read() as s:
                rows = list((await s.execute(select(InventoryItem).where(InventoryItem.sku.in_(skus)))).scalars())
        return api.BatchGetInventoryItemsBySkuResponse(inventory_items=[mapping.item_to_pb(r) for r in rows])

    async def ListInventoryItems(
        self, request: api.ListInventoryItemsRequest, context_: Any
    ) -> api.ListInventoryItemsResponse:
        stmt = select(InventoryItem)
        statuses = enums_from_pb(list(request.statuses), mapping.ITEM_STATUS_FROM_PB, "statuses")
        vendors = uuids_from_strs(list(request.preferred_vendor_ids), "preferred_vendor_ids")
        if request.categories:
            stmt = stmt.where(InventoryItem.category.in_(list(request.categories)))
        if statuses:
            stmt = stmt.where(InventoryItem.status.in_([s.value for s in statuses]))
        if vendors:
            stmt = stmt.where(InventoryItem.preferred_vendor_id.in_(vendors))
        if request.warehouse_location:
            stmt = stmt.where(InventoryItem.warehouse_location == request.warehouse_location)
        if request.at_or_below_reorder_point:
            stmt = stmt.where(InventoryItem.quantity_available <= InventoryItem.reorder_point)
        if request.query.strip():
            needle = request.query.strip().lower()
            stmt = stmt.where(
                or_(
                    func.lower(InventoryItem.sku).contains(needle, autoescape=True),
                    func.lower(InventoryItem.name).contains(needle, autoescape=True),
                )
            )
        filters = (
            sorted(request.categories),
            sorted(s.value for s in statuses),
            sorted(map(str, vendors)),
            request.warehouse_location,
            request.at_or_below_reorder_point,
            request.query.strip().lower(),
        )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [InventoryItem.sku, InventoryItem.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
            )
        return api.ListInventoryItemsResponse(
            inventory_items=[mapping.item_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CreateInventoryItem(
        self, request: api.CreateInventoryItemRequest, context_: Any
    ) -> api.CreateInventoryItemResponse:
        v = Validator()
        values: dict[str, Any] = {
            "sku": request.sku.strip(),
            "name": request.name.strip(),
            "description": request.description or None,
            "category": request.category.strip(),
            "reorder_point": request.reorder_point,
            "reorder_quantity": request.reorder_quantity,
            "unit_cost": v.collect(lambda: money_from_pb(request.unit_cost, "unit_cost")),
            "unit_price": v.collect(lambda: money_from_pb(request.unit_price, "unit_price")),
            "warehouse_location": request.warehouse_location.strip() or None,
            "preferred_vendor_id": v.collect(
                lambda: uuid_from_str(request.preferred_vendor_id, "preferred_vendor_id", required=False)
            ),
        }
        opening = request.quantity_on_hand
        domain.validate_item_fields(v, {**values, "quantity_on_hand": opening})
        v.raise_if_any()
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                await self._ensure_sku_free(uow, values["sku"])
                row = InventoryItem(
                    id=uuid.uuid4(),
                    quantity_on_hand=opening,
                    quantity_reserved=0,
                    quantity_on_order=0,
                    status=domain.ItemStatus.ACTIVE.value,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    reorder_triggered=domain.initial_reorder_flag(opening, values["reorder_point"]),
                    **values,
                )
                uow.session.add(row)
                uow.record(
                    mapping.item_created(row),
                    aggregate_type=mapping.ITEM_AGGREGATE,
                    aggregate_id=row.id,
                    version=row.version,
                )
                if opening > 0:
                    await uow.session.flush()  # the movement's foreign key needs the item row
                    spec = MovementSpec(
                        domain.MovementType.ADJUSTMENT, reason=OPENING_STOCK_REASON, moved_by=caller_id()
                    )
                    write_movement(uow, row, spec, 0, opening, now)
                    levels_changed(uow, row)
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateInventoryItemResponse(inventory_item=mapping.item_to_pb(row))

    async def UpdateInventoryItem(
        self, request: api.UpdateInventoryItemRequest, context_: Any
    ) -> api.UpdateInventoryItemResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - domain.UPDATABLE_ITEM_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        item = request.inventory_item
        key = uuid_from_str(item.id, "inventory_item.id")
        assert key is not None
        v = Validator()
        values: dict[str, Any] = {p: v.collect(functools.partial(_parse_field, item, p)) for p in paths}
        domain.validate_item_fields(v, values, prefix="inventory_item.")
        v.raise_if_any()
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, InventoryItem, key, request.version, ITEM)
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            if changed:
                for name in changed:
                    setattr(row, name, values[name])
                row.version += 1
                row.updated_at = self.clock.now()
                uow.record(
                    mapping.item_updated(row, changed),
                    aggregate_type=mapping.ITEM_AGGREGATE,
                    aggregate_id=row.id,
                    version=row.version,
                )
                check_reorder(uow, row)  # a raised reorder point (or a status change) may cross it
        return api.UpdateInventoryItemResponse(inventory_item=mapping.item_to_pb(row))

    async def _ensure_sku_free(self, uow: UnitOfWork, sku: str) -> None:
        if (await uow.session.execute(select(InventoryItem.id).where(InventoryItem.sku == sku))).first() is not None:
            raise AlreadyExists(UNIQUE_MESSAGES["uq_inventory_items_sku"])


def _parse_field(item: pb.InventoryItem, name: str) -> Any:
    """One updatable field of the request's item, parsed (INVALID_ARGUMENT names its path)."""
    path = "inventory_item." + name
    if name in ("name", "category"):
        return getattr(item, name).strip()
    if name == "description":
        return item.description or None
    if name == "warehouse_location":
        return item.warehouse_location.strip() or None
    if name in ("reorder_point", "reorder_quantity"):
        return getattr(item, name)
    if name in ("unit_cost", "unit_price"):
        return money_from_pb(getattr(item, name), path)
    if name == "preferred_vendor_id":
        return uuid_from_str(item.preferred_vendor_id, path, required=False)
    status = mapping.ITEM_STATUS_FROM_PB.get(item.status)
    if status is None:
        raise InvalidArgument.field(path, "must be ACTIVE, INACTIVE or DISCONTINUED")
    return status.value
