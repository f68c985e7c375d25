"""Shipments: create (numbered gap-free per year), get, batch get, list, update."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.db import translate_integrity_error
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page
from services.supply_chain import domain, mapping, store
from services.supply_chain.api.base import SHIPMENT, ApiBase, enum_value, text_or_none
from services.supply_chain.domain import Status, Tracking
from services.supply_chain.tables import Shipment, ShipmentItem


def parse_items(v: Validator, items: Sequence[api.ShipmentItemInput], now: datetime) -> list[ShipmentItem]:
    """Item inputs to rows (shipment id set later); every problem is a violation like `items[2].quantity`."""
    domain.validate_items_count(v, len(items))
    rows = []
    for i, item in enumerate(items):
        prefix = f"items[{i}]."
        weight = v.collect(functools.partial(money_from_pb, item.weight, prefix + "weight", required=False))
        domain.validate_item(v, item.sku, item.description, item.quantity, weight, prefix)
        rows.append(
            ShipmentItem(
                id=uuid.uuid4(),
                sku=item.sku.strip(),
                description=text_or_none(item.description),
                quantity=item.quantity,
                weight=weight,
                created_at=now,
            )
        )
    return rows


class ShipmentsApi(ApiBase):
    async def CreateShipment(self, request: api.CreateShipmentRequest, context_: Any) -> api.CreateShipmentResponse:
        now = self.clock.now()
        v = Validator()
        order_id = v.collect(lambda: uuid_from_str(request.order_id, "order_id"))
        shipment_type = enum_value(v, request.shipment_type, mapping.TYPE_FROM_PB, "shipment_type")
        texts = {name: text_or_none(getattr(request, name)) for name in domain.TEXT_LIMITS}
        domain.validate_texts(v, texts)
        estimate = v.collect(
            lambda: date_from_pb(request.estimated_delivery_date, "estimated_delivery_date", required=False)
        )
        items = parse_items(v, request.items, now)
        v.raise_if_any()
        assert order_id is not None and shipment_type is not None
        try:
            async with self.db.unit_of_work() as uow:
                await store.ensure_tracking_number_free(uow.session, texts["tracking_number"], None)
                row = Shipment(
                    id=uuid.uuid4(),
                    shipment_number=await store.next_shipment_number(uow.session, self.clock.today().year),
                    order_id=order_id,
                    shipment_type=shipment_type.value,
                    estimated_delivery_date=estimate,
                    status=Status.PENDING.value,
                    status_changed_at=now,
                    created_at=now,
                    updated_at=now,
                    version=1,
                    **texts,
                )
                uow.session.add(row)
                await uow.session.flush()
                for item in items:
                    item.shipment_id = row.id
                uow.session.add_all(items)
                await uow.session.flush()
                await store.add_tracking(uow.session, row.id, Tracking.CREATED, now, now, location=row.origin_city)
                uow.record(
                    mapping.shipment_created(row, items),
                    aggregate_type=mapping.SHIPMENT_AGGREGATE,
                    aggregate_id=row.id,
                    version=row.version,
                )
        except IntegrityError as exc:
            raise translate_integrity_error(exc, store.UNIQUE_MESSAGES) from None
        return api.CreateShipmentResponse(shipment=mapping.shipment_to_pb(row, items))

    async def GetShipment(self, request: api.GetShipmentRequest, context_: Any) -> api.GetShipmentResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, Shipment, key, SHIPMENT)
            items = await store.items_of(s, [key])
        return api.GetShipmentResponse(shipment=mapping.shipment_to_pb(row, items[key]))

    async def BatchGetShipments(
        self, request: api.BatchGetShipmentsRequest, context_: Any
    ) -> api.BatchGetShipmentsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Shipment, keys)
            items = await store.items_of(s, [r.id for r in rows])
        return api.BatchGetShipmentsResponse(shipments=[mapping.shipment_to_pb(r, items[r.id]) for r in rows])

    async def ListShipments(self, request: api.ListShipmentsRequest, context_: Any) -> api.ListShipmentsResponse:
        v = Validator()
        order_ids = v.collect(lambda: uuids_from_strs(list(request.order_ids), "order_ids")) or []
        statuses = v.enum_values(request.statuses, mapping.STATUS_FROM_PB, "statuses")
        shipment_type = None
        if request.shipment_type:
            shipment_type = enum_value(v, request.shipment_type, mapping.TYPE_FROM_PB, "shipment_type")
        start = v.collect(
            lambda: date_from_pb(request.estimated_delivery_from, "estimated_delivery_from", required=False)
        )
        end = v.collect(lambda: date_from_pb(request.estimated_delivery_to, "estimated_delivery_to", required=False))
        v.check(start is None or end is None or start <= end, "estimated_delivery_to", "must not be before the start")
        v.raise_if_any()
        stmt = select(Shipment)
        if order_ids:
            stmt = stmt.where(Shipment.order_id.in_(order_ids))
        if statuses:
            stmt = stmt.where(Shipment.status.in_([s.value for s in statuses]))
        if shipment_type is not None:
            stmt = stmt.where(Shipment.shipment_type == shipment_type.value)
        carriers = [c.strip() for c in request.carriers]
        if carriers:
            stmt = stmt.where(Shipment.carrier.in_(carriers))
        if request.tracking_number:
            stmt = stmt.where(Shipment.tracking_number == request.tracking_number.strip())
        if start is not None:
            stmt = stmt.where(Shipment.estimated_delivery_date >= start)
        if end is not None:
            stmt = stmt.where(Shipment.estimated_delivery_date <= end)
        if request.sku:
            has_sku = select(ShipmentItem.id).where(
                ShipmentItem.shipment_id == Shipment.id, ShipmentItem.sku == request.sku.strip()
            )
            stmt = stmt.where(has_sku.exists())
        filters = (
            sorted(map(str, order_ids)),
            sorted(s.value for s in statuses),
            shipment_type,
            sorted(carriers),
            request.tracking_number,
            str(start),
            str(end),
            request.sku,
        )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Shipment.created_at, Shipment.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
            items = await store.items_of(s, [r.id for r in page.items])
        return api.ListShipmentsResponse(
            shipments=[mapping.shipment_to_pb(r, items[r.id]) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def UpdateShipment(self, request: api.UpdateShipmentRequest, context_: Any) -> api.UpdateShipmentResponse:
        """Carrier, tracking number and addresses while PENDING; the estimated delivery date while
        PENDING or IN_TRANSIT. The contract has no update event, so none is recorded."""
        paths = set(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(paths - domain.UPDATABLE_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        s: pb.Shipment = request.shipment
        v = Validator()
        key = v.collect(lambda: uuid_from_str(s.id, "shipment.id"))
        values: dict[str, Any] = {name: text_or_none(getattr(s, name)) for name in paths & set(domain.TEXT_LIMITS)}
        domain.validate_texts(v, values, prefix="shipment.")
        if "estimated_delivery_date" in paths:
            values["estimated_delivery_date"] = v.collect(
                lambda: date_from_pb(s.estimated_delivery_date, "shipment.estimated_delivery_date", required=False)
            )
        v.raise_if_any()
        assert key is not None
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_versioned_for_update(uow.session, Shipment, key, request.version, SHIPMENT)
                domain.ensure_updatable(row.status, paths)
                if "tracking_number" in values:
                    await store.ensure_tracking_number_free(uow.session, values["tracking_number"], row.id)
                if row.dispatched_at is not None and "estimated_delivery_date" in values:
                    domain.check_estimate_after_dispatch(
                        values["estimated_delivery_date"], row.dispatched_at, "shipment.estimated_delivery_date"
                    )
                changed = {name: value for name, value in values.items() if getattr(row, name) != value}
                if changed:
                    for name, value in changed.items():
                        setattr(row, name, value)
                    row.version += 1
                    row.updated_at = self.clock.now()
                items = await store.items_of(uow.session, [row.id])
        except IntegrityError as exc:
            raise translate_integrity_error(exc, store.UNIQUE_MESSAGES) from None
        return api.UpdateShipmentResponse(shipment=mapping.shipment_to_pb(row, items[row.id]))
