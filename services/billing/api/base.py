"""What every part of the BillingService servicer shares: dependencies and parsing helpers."""

from __future__ import annotations

import uuid
from datetime import date

from erp.billing.v1 import billing_pb2 as pb
from google.type.date_pb2 import Date
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import mapping, store
from services.billing.tables import Invoice
from services.runtime.convert import date_from_pb, uuid_from_str
from services.runtime.errors import Validator
from services.runtime.service import ServiceDeps


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps
        self.db = deps.db
        self.clock = deps.clock

    async def invoice_pb(self, session: AsyncSession, row: Invoice) -> pb.Invoice:
        lines = await store.lines_of(session, [row.id])
        return mapping.invoice_to_pb(row, lines[row.id], self.clock.today())

    async def invoices_pb(self, session: AsyncSession, rows: list[Invoice]) -> list[pb.Invoice]:
        lines = await store.lines_of(session, [r.id for r in rows])
        today = self.clock.today()
        return [mapping.invoice_to_pb(r, lines[r.id], today) for r in rows]


def require_id(raw: str, field: str) -> uuid.UUID:
    key = uuid_from_str(raw, field)
    assert key is not None
    return key


def date_range(v: Validator, start: Date, end: Date, field_from: str, field_to: str) -> tuple[date | None, date | None]:
    """An optional [from, to] filter; from after to is a violation."""
    lo = v.collect(lambda: date_from_pb(start, field_from, required=False))
    hi = v.collect(lambda: date_from_pb(end, field_to, required=False))
    if lo is not None and hi is not None:
        v.check(lo <= hi, field_to, f"must be on or after {field_from}")
    return lo, hi
