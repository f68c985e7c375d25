"""InventoryService, reservations: reserve, release, fulfil (one or a whole order), expire, list."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from erp.inventory.v1 import inventory_service_pb2 as api
from sqlalchemy import select

from services.inventory import domain, mapping, reservations
from services.inventory.api_base import ApiBase, enums_from_pb
from services.inventory.stock import change_stock, levels_changed, lock_item, lock_item_by_sku
from services.inventory.tables import StockMovement, StockReservation
from services.runtime.context import caller_id
from services.runtime.convert import ids_filter, timestamp_from_pb, uuid_from_str
from services.runtime.errors import FailedPrecondition, NotFound, Validator
from services.runtime.repository import list_page

MAX_TTL = timedelta(days=366)
_MAX_TTL_NANOS = MAX_TTL.days * 86_400 * 1_000_000_000


class ReservationsApi(ApiBase):
    async def ReserveStock(self, request: api.ReserveStockRequest, context_: Any) -> api.ReserveStockResponse:
        """Locks the item row for the whole unit of work, so concurrent reservations of the same
        item are checked one after another against the available quantity: none oversells."""
        v = Validator()
        v.check(bool(request.item_id) != bool(request.sku), "item_id", "set exactly one of item_id and sku")
        item_id = v.collect(lambda: uuid_from_str(request.item_id, "item_id", required=False))
        v.check(request.quantity > 0, "quantity", "must be greater than zero")
        order_id = v.collect(lambda: uuid_from_str(request.order_id, "order_id"))
        customer_id = v.collect(lambda: uuid_from_str(request.customer_id, "customer_id", required=False))
        ttl: timedelta | None = None
        if request.HasField("ttl"):
            nanos = request.ttl.seconds * 1_000_000_000 + request.ttl.nanos
            ok = 0 < nanos <= _MAX_TTL_NANOS
            v.check(ok, "ttl", f"must be positive and at most {MAX_TTL.days} days")
            ttl = request.ttl.ToTimedelta() if ok else None
        v.raise_if_any()
        assert order_id is not None
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            if item_id is not None:
                item = await lock_item(uow.session, item_id)
            else:
                item = await lock_item_by_sku(uow.session, request.sku)
            domain.ensure_can_reserve(item.status, mapping.levels_of(item), request.quantity)
            reservation = StockReservation(
                id=uuid.uuid4(),
                item_id=item.id,
                quantity=request.quantity,
                order_id=order_id,
                customer_id=customer_id,
                status=domain.ReservationStatus.ACTIVE.value,
                reserved_at=now,
                fulfilled_at=None,
                expires_at=now + ttl if ttl is not None else None,
            )
            uow.session.add(reservation)
            change_stock(uow, item, now, reserved=request.quantity)
            uow.record(
                mapping.stock_reserved(item, reservation),
                aggregate_type=mapping.RESERVATION_AGGREGATE,
                aggregate_id=reservation.id,
            )
            levels_changed(uow, item)
        return api.ReserveStockResponse(
            reservation=mapping.reservation_to_pb(reservation), inventory_item=mapping.item_to_pb(item)
        )

    async def ReleaseReservation(
        self, request: api.ReleaseReservationRequest, context_: Any
    ) -> api.ReleaseReservationResponse:
        key = uuid_from_str(request.id, "id")
        v = Validator()
        v.max_len(request.reason, "reason", 10_000)
        v.raise_if_any()
        assert key is not None
        async with self.db.unit_of_work() as uow:
            reservation, item = await reservations.lock_reservation(uow, key)
            reservations.release(
                uow,
                reservation,
                item,
                self.clock.now(),
                status=domain.ReservationStatus.CANCELLED,
                reason=request.reason,
            )
        return api.ReleaseReservationResponse(reservation=mapping.reservation_to_pb(reservation))

    async def FulfilReservation(
        self, request: api.FulfilReservationRequest, context_: Any
    ) -> api.FulfilReservationResponse:
        """Fulfilling a reservation that is not ACTIVE (e.g. twice) is FAILED_PRECONDITION."""
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.unit_of_work() as uow:
            reservation, item = await reservations.lock_reservation(uow, key)
            movement = reservations.fulfil(uow, reservation, item, self.clock.now(), caller_id())
        return api.FulfilReservationResponse(
            reservation=mapping.reservation_to_pb(reservation), movement=mapping.movement_to_pb(movement)
        )

    async def FulfilOrder(self, request: api.FulfilOrderRequest, context_: Any) -> api.FulfilOrderResponse:
        """Fulfils the order's ACTIVE reservations. Idempotent: an order already fulfilled (no
        active reservation left, at least one fulfilled) is a no-op with empty lists. An order
        without reservations is NOT_FOUND; one whose reservations were all released or expired is
        FAILED_PRECONDITION."""
        order_id = uuid_from_str(request.order_id, "order_id")
        assert order_id is not None
        now = self.clock.now()
        fulfilled: list[StockReservation] = []
        movements: list[StockMovement] = []
        async with self.db.unit_of_work() as uow:
            active = await reservations.active_of_order(uow, order_id)
            if not active:
                any_fulfilled = await reservations.order_has_fulfilled(uow, order_id)
                if any_fulfilled is None:
                    raise NotFound("reservations of order", str(order_id))
                if not any_fulfilled:
                    raise FailedPrecondition("the order has no active reservation: they were released or expired")
            for reservation in active:
                item = await reservations.item_for(uow, reservation)
                movements.append(reservations.fulfil(uow, reservation, item, now, caller_id()))
                fulfilled.append(reservation)
        return api.FulfilOrderResponse(
            reservations=[mapping.reservation_to_pb(r) for r in fulfilled],
            movements=[mapping.movement_to_pb(m) for m in movements],
        )

    async def ExpireReservations(
        self, request: api.ExpireReservationsRequest, context_: Any
    ) -> api.ExpireReservationsResponse:
        now = self.clock.now()
        as_of = timestamp_from_pb(request.as_of_time, "as_of_time") if request.HasField("as_of_time") else now
        async with self.db.unit_of_work() as uow:
            expired = await reservations.expire_due(uow, as_of, now)
        return api.ExpireReservationsResponse(reservations=[mapping.reservation_to_pb(r) for r in expired])

    async def ListReservations(
        self, request: api.ListReservationsRequest, context_: Any
    ) -> api.ListReservationsResponse:
        v = Validator()
        items = v.collect(lambda: ids_filter(request.item_id, request.item_ids, "item_id", "item_ids")) or []
        order_id = v.collect(lambda: uuid_from_str(request.order_id, "order_id", required=False))
        customer_id = v.collect(lambda: uuid_from_str(request.customer_id, "customer_id", required=False))
        statuses = v.collect(
            lambda: enums_from_pb(list(request.statuses), mapping.RESERVATION_STATUS_FROM_PB, "statuses")
        )
        v.raise_if_any()
        stmt = select(StockReservation)
        if items:
            stmt = stmt.where(StockReservation.item_id.in_(items))
        if order_id is not None:
            stmt = stmt.where(StockReservation.order_id == order_id)
        if customer_id is not None:
            stmt = stmt.where(StockReservation.customer_id == customer_id)
        if statuses:
            stmt = stmt.where(StockReservation.status.in_([s.value for s in statuses]))
        filters = ([str(i) for i in items], str(order_id), str(customer_id), sorted(s.value for s in statuses or []))
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [StockReservation.reserved_at, StockReservation.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
        return api.ListReservationsResponse(
            reservations=[mapping.reservation_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
