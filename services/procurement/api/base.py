"""What every part of the ProcurementService servicer shares: dependencies and parsing helpers."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date

from erp.procurement.v1 import procurement_service_pb2 as api
from google.type.date_pb2 import Date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.procurement import store
from services.procurement.config import ProcurementConfig
from services.procurement.pricing import LineInput, validate_line, validate_lines_count
from services.procurement.tables import PurchaseOrder, PurchaseOrderItem
from services.runtime import errors
from services.runtime.convert import date_from_pb, money_from_pb
from services.runtime.errors import NotFound, Validator
from services.runtime.service import ServiceDeps

ORDER = "purchase order"


class ApiBase:
    def __init__(self, deps: ServiceDeps, config: ProcurementConfig) -> None:
        self.deps = deps
        self.db = deps.db
        self.clock = deps.clock
        self.config = config

    def date_or_today(self, v: Validator, value: Date, field: str) -> date:
        parsed = v.collect(lambda: date_from_pb(value, field, required=False))
        return parsed if parsed is not None else self.clock.today()


def check_range(start: date | None, end: date | None, field: str) -> None:
    errors.check_range(start, end, field, "must be on or after the start of the range")


def parse_lines(v: Validator, items: Sequence[api.PurchaseOrderItemInput], field: str) -> list[LineInput]:
    """Item inputs to lines; every problem is a violation named like `items[2].quantity`."""
    validate_lines_count(v, len(items), field)
    lines: list[LineInput] = []
    for i, item in enumerate(items):
        prefix = f"{field}[{i}]."
        price = v.collect(functools.partial(money_from_pb, item.unit_price, prefix + "unit_price"))
        validate_line(v, item.sku, item.description, item.quantity, price, prefix)
        if price is not None:
            lines.append(LineInput(item.sku.strip(), item.description.strip(), item.quantity, price))
    return lines


async def order_with_items(session: AsyncSession, key: uuid.UUID) -> tuple[PurchaseOrder, list[PurchaseOrderItem]]:
    row = (await session.execute(select(PurchaseOrder).where(PurchaseOrder.id == key))).scalar_one_or_none()
    if row is None:
        raise NotFound(ORDER, str(key))
    return row, (await store.items_of(session, [key]))[key]
