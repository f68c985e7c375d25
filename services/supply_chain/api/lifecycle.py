"""The lifecycle verbs: dispatch, deliver, cancel, mark returned, mark lost.

Each locks the shipment (checking the caller's version), checks the change against the lifecycle
(FAILED_PRECONDITION, nothing written) and applies it with `lifecycle.change_status`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from sqlalchemy.exc import IntegrityError

from services.runtime.convert import date_from_pb, uuid_from_str
from services.runtime.db import translate_integrity_error
from services.runtime.errors import Validator
from services.runtime.repository import get_versioned_for_update
from services.supply_chain import domain, mapping, store
from services.supply_chain.api.base import SHIPMENT, ApiBase, text_or_none
from services.supply_chain.domain import Status
from services.supply_chain.lifecycle import Change, change_status
from services.supply_chain.tables import Shipment, ShipmentItem


class LifecycleApi(ApiBase):
    async def DispatchShipment(
        self, request: api.DispatchShipmentRequest, context_: Any
    ) -> api.DispatchShipmentResponse:
        """PENDING -> IN_TRANSIT at `dispatched_at` (now when unset); the tracking number is
        required unless the shipment has one, and must be free."""
        now = self.clock.now()
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.id, "id"))
        at = self.time_or_now(v, request.dispatched_at, request.HasField("dispatched_at"), "dispatched_at", now)
        tracking = text_or_none(request.tracking_number)
        v.max_len(tracking, "tracking_number", domain.TEXT_LIMITS["tracking_number"])
        estimate = v.collect(
            lambda: date_from_pb(request.estimated_delivery_date, "estimated_delivery_date", required=False)
        )
        v.collect(lambda: domain.check_estimate_after_dispatch(estimate, at, "estimated_delivery_date"))
        v.raise_if_any()
        assert key is not None
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_versioned_for_update(uow.session, Shipment, key, request.version, SHIPMENT)
                domain.ensure_transition(row.status, Status.IN_TRANSIT)
                number = domain.dispatch_tracking_number(row.tracking_number, tracking or "")
                if number != row.tracking_number:
                    await store.ensure_tracking_number_free(uow.session, number, row.id)
                    row.tracking_number = number
                if estimate is not None:
                    row.estimated_delivery_date = estimate
                items = await change_status(uow, row, Change(Status.IN_TRANSIT, at, location=row.origin_city), now)
        except IntegrityError as exc:
            raise translate_integrity_error(exc, store.UNIQUE_MESSAGES) from None
        return api.DispatchShipmentResponse(shipment=mapping.shipment_to_pb(row, items))

    async def DeliverShipment(self, request: api.DeliverShipmentRequest, context_: Any) -> api.DeliverShipmentResponse:
        """IN_TRANSIT -> DELIVERED at `delivered_at` (now when unset, not before the dispatch);
        the carrier's metrics for the delivery day change in the same transaction."""
        now = self.clock.now()
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.id, "id"))
        at = self.time_or_now(v, request.delivered_at, request.HasField("delivered_at"), "delivered_at", now)
        delivered_to = text_or_none(request.delivered_to)
        location = text_or_none(request.location)
        v.max_len(delivered_to, "delivered_to", domain.MAX_DELIVERED_TO)
        v.max_len(location, "location", domain.MAX_LOCATION)
        v.raise_if_any()
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Shipment, key, request.version, SHIPMENT)
            domain.ensure_transition(row.status, Status.DELIVERED)
            domain.check_delivered_after_dispatch(row.dispatched_at, at, "delivered_at")
            change = Change(Status.DELIVERED, at, location=location, delivered_to=delivered_to)
            items = await change_status(uow, row, change, now)
        return api.DeliverShipmentResponse(shipment=mapping.shipment_to_pb(row, items))

    async def CancelShipment(self, request: api.CancelShipmentRequest, context_: Any) -> api.CancelShipmentResponse:
        """PENDING or IN_TRANSIT -> CANCELLED (only before delivery); a reason is required."""
        row, items = await self._change(request.id, request.version, Status.CANCELLED, request.reason, "reason")
        return api.CancelShipmentResponse(shipment=mapping.shipment_to_pb(row, items))

    async def MarkShipmentReturned(
        self, request: api.MarkShipmentReturnedRequest, context_: Any
    ) -> api.MarkShipmentReturnedResponse:
        """IN_TRANSIT or DELIVERED -> RETURNED; a reason is required."""
        row, items = await self._change(request.id, request.version, Status.RETURNED, request.reason, "reason")
        return api.MarkShipmentReturnedResponse(shipment=mapping.shipment_to_pb(row, items))

    async def MarkShipmentLost(
        self, request: api.MarkShipmentLostRequest, context_: Any
    ) -> api.MarkShipmentLostResponse:
        """IN_TRANSIT -> LOST; notes (e.g. the carrier's claim number) are optional."""
        row, items = await self._change(request.id, request.version, Status.LOST, request.notes, None)
        return api.MarkShipmentLostResponse(shipment=mapping.shipment_to_pb(row, items))

    async def _change(
        self, id_: str, version: int, target: Status, text: str, required: str | None
    ) -> tuple[Shipment, list[ShipmentItem]]:
        """A change that happens now, with a reason or notes (`required` names a required field)."""
        v = Validator()
        key = v.collect(lambda: uuid_from_str(id_, "id"))
        notes = text_or_none(text)
        field = required or "notes"
        if required:
            v.require(notes, field)
        v.max_len(notes, field, domain.MAX_NOTES)
        v.raise_if_any()
        assert key is not None
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Shipment, key, version, SHIPMENT)
            at: datetime = max(now, row.status_changed_at)  # never before the current status began
            items = await change_status(uow, row, Change(target, at, notes=notes), now)
        return row, items
