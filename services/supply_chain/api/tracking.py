"""Tracking: carrier updates (in any order, possibly duplicated) and the tracking history."""

from __future__ import annotations

import uuid
from typing import Any

from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from sqlalchemy import select

from services.runtime.convert import ids_filter, uuid_from_str
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import get_or_404, list_page
from services.supply_chain import domain, mapping, store
from services.supply_chain.api.base import SHIPMENT, ApiBase, enum_value, text_or_none
from services.supply_chain.lifecycle import Change, change_status
from services.supply_chain.tables import Shipment, TrackingEvent

REPORTABLE = "must be IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERY_ATTEMPTED, EXCEPTION, DELIVERED, RETURNED or LOST"


class TrackingApi(ApiBase):
    async def RecordTrackingEvent(
        self, request: api.RecordTrackingEventRequest, context_: Any
    ) -> api.RecordTrackingEventResponse:
        """Adds a carrier update to a dispatched shipment's history.

        - A duplicate (same shipment, status, event time and location) is stored once: the stored
          entry is returned and nothing is written.
        - Scans (IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERY_ATTEMPTED, EXCEPTION) never change the status.
        - A reported DELIVERED, RETURNED or LOST moves the shipment there like the lifecycle verbs
          (same event, same carrier metrics) when the lifecycle allows it and the update is not
          older than the current status; otherwise it only joins the history: a late update
          never moves the status backwards.
        """
        now = self.clock.now()
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.shipment_id, "shipment_id"))
        reported = enum_value(v, request.status, mapping.TRACKING_FROM_PB, "status")
        v.check(reported is None or reported in domain.CARRIER_REPORTABLE, "status", REPORTABLE)
        location = text_or_none(request.location)
        notes = text_or_none(request.notes)
        v.max_len(location, "location", domain.MAX_LOCATION)
        v.max_len(notes, "notes", domain.MAX_NOTES)
        at = self.time_or_now(v, request.event_time, request.HasField("event_time"), "event_time", now)
        v.raise_if_any()
        assert key is not None and reported is not None
        async with self.db.unit_of_work() as uow:
            row = await get_or_404(uow.session, Shipment, key, SHIPMENT, lock=True)
            domain.ensure_with_carrier(row.dispatched_at)
            entry, created = await store.add_tracking(
                uow.session, row.id, reported, at, now, location=location, notes=notes
            )
            if created:
                uow.record(
                    mapping.tracking_updated(row, entry),
                    aggregate_type=mapping.SHIPMENT_AGGREGATE,
                    aggregate_id=row.id,
                    version=row.version,
                )
                target = domain.carrier_update_effect(row.status, row.status_changed_at, reported, at)
                if target is not None:
                    change = Change(target, at, location=location, notes=notes)
                    await change_status(uow, row, change, now, add_tracking=False)
        return api.RecordTrackingEventResponse(tracking_event=mapping.tracking_to_pb(entry))

    async def ListTrackingHistory(
        self, request: api.ListTrackingHistoryRequest, context_: Any
    ) -> api.ListTrackingHistoryResponse:
        shipments = ids_filter(request.shipment_id, request.shipment_ids, "shipment_id", "shipment_ids")
        if not shipments:
            raise InvalidArgument.field("shipment_id", "set shipment_id or shipment_ids")
        async with self.db.read() as s:
            if request.shipment_id:
                await get_or_404(s, Shipment, uuid.UUID(request.shipment_id), SHIPMENT)
            page = await list_page(
                s,
                select(TrackingEvent).where(TrackingEvent.shipment_id.in_(shipments)),
                [TrackingEvent.event_time, TrackingEvent.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=[str(i) for i in shipments],
            )
        return api.ListTrackingHistoryResponse(
            tracking_events=[mapping.tracking_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
