"""InventoryService, valuation: snapshots on demand and their list."""

from __future__ import annotations

from typing import Any

from erp.inventory.v1 import inventory_service_pb2 as api
from sqlalchemy import select

from services.inventory import mapping, valuation
from services.inventory.api_base import ApiBase
from services.inventory.tables import InventoryValuation
from services.runtime.convert import date_from_pb
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import list_page


class ValuationApi(ApiBase):
    async def CreateValuationSnapshot(
        self, request: api.CreateValuationSnapshotRequest, context_: Any
    ) -> api.CreateValuationSnapshotResponse:
        day = date_from_pb(request.snapshot_date, "snapshot_date", required=False) or self.clock.today()
        async with self.db.unit_of_work() as uow:
            row = await valuation.take_snapshot(uow, day, self.clock.now())
        return api.CreateValuationSnapshotResponse(valuation=mapping.valuation_to_pb(row))

    async def ListValuationSnapshots(
        self, request: api.ListValuationSnapshotsRequest, context_: Any
    ) -> api.ListValuationSnapshotsResponse:
        v = Validator()
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date", required=False))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date", required=False))
        v.raise_if_any()
        if start is not None and end is not None and end < start:
            raise InvalidArgument.field("end_date", "must be on or after start_date")
        stmt = select(InventoryValuation)
        if start is not None:
            stmt = stmt.where(InventoryValuation.snapshot_date >= start)
        if end is not None:
            stmt = stmt.where(InventoryValuation.snapshot_date <= end)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [InventoryValuation.snapshot_date, InventoryValuation.created_at, InventoryValuation.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(start and start.isoformat(), end and end.isoformat()),
                descending=True,
            )
        return api.ListValuationSnapshotsResponse(
            valuations=[mapping.valuation_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
