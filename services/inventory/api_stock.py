"""InventoryService, stock on hand: AdjustStock (adjustment, damage, theft) and the movements."""

from __future__ import annotations

from typing import Any

from erp.inventory.v1 import inventory_service_pb2 as api
from sqlalchemy import select

from services.inventory import domain, mapping
from services.inventory.api_base import ApiBase, check_time_range, enums_from_pb
from services.inventory.stock import ITEM, MovementSpec, change_stock, levels_changed
from services.inventory.tables import InventoryItem, StockMovement
from services.runtime.context import caller_id
from services.runtime.convert import ids_filter, timestamp_from_pb, uuid_from_str
from services.runtime.errors import Validator
from services.runtime.repository import get_versioned_for_update, list_page


class StockApi(ApiBase):
    async def AdjustStock(self, request: api.AdjustStockRequest, context_: Any) -> api.AdjustStockResponse:
        """Every adjustment records StockAdjusted with its signed value at the current unit cost
        (negative: a loss accounting posts Dr 5300 / Cr 1300; positive: the reverse)."""
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.item_id, "item_id"))
        movement_type = mapping.MOVEMENT_TYPE_FROM_PB.get(request.movement_type)
        domain.validate_adjustment(v, movement_type, request.quantity, request.reason)
        v.max_len(request.reference, "reference", 100)
        v.check(request.version >= 0, "version", "must not be negative")
        v.raise_if_any()
        assert key is not None and movement_type is not None
        spec = MovementSpec(
            movement_type, reference=request.reference or None, reason=request.reason.strip(), moved_by=caller_id()
        )
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            item = await get_versioned_for_update(uow.session, InventoryItem, key, request.version, ITEM)
            movement = change_stock(uow, item, now, on_hand=request.quantity, movement=spec)
            assert movement is not None
            uow.record(
                mapping.stock_adjusted(item, movement),
                aggregate_type=mapping.ITEM_AGGREGATE,
                aggregate_id=item.id,
                version=item.version,
            )
            levels_changed(uow, item)
        return api.AdjustStockResponse(
            inventory_item=mapping.item_to_pb(item), movement=mapping.movement_to_pb(movement)
        )

    async def ListStockMovements(
        self, request: api.ListStockMovementsRequest, context_: Any
    ) -> api.ListStockMovementsResponse:
        stmt = select(StockMovement)
        items = ids_filter(request.item_id, request.item_ids, "item_id", "item_ids")
        types = enums_from_pb(list(request.movement_types), mapping.MOVEMENT_TYPE_FROM_PB, "movement_types")
        start = timestamp_from_pb(request.start_time, "start_time") if request.HasField("start_time") else None
        end = timestamp_from_pb(request.end_time, "end_time") if request.HasField("end_time") else None
        check_time_range(start, end)
        if items:
            stmt = stmt.where(StockMovement.item_id.in_(items))
        if types:
            stmt = stmt.where(StockMovement.movement_type.in_([t.value for t in types]))
        if start is not None:
            stmt = stmt.where(StockMovement.moved_at >= start)
        if end is not None:
            stmt = stmt.where(StockMovement.moved_at < end)
        if request.reference:
            stmt = stmt.where(StockMovement.reference == request.reference)
        filters = (
            [str(i) for i in items],
            sorted(t.value for t in types),
            start and start.isoformat(),
            end and end.isoformat(),
            request.reference,
        )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [StockMovement.moved_at, StockMovement.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
        return api.ListStockMovementsResponse(
            movements=[mapping.movement_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
