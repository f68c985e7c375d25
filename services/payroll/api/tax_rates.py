"""Tax rate sets: effective-dated, never overlapping (checked here, backed by an exclusion constraint)."""

from __future__ import annotations

import uuid
import zlib
from functools import partial
from typing import Any

from erp.payroll.v1 import payroll_service_pb2 as api
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.payroll import domain, mapping
from services.payroll.api.base import ApiBase
from services.payroll.tables import FAR_FUTURE, TaxRate
from services.runtime.convert import date_from_pb, decimal_from_pb, uuids_from_strs
from services.runtime.errors import FailedPrecondition, Validator
from services.runtime.repository import get_or_404, list_page

TAX_RATE_LOCK_KEY = zlib.crc32(b"erp-payroll-tax-rates")
EXCLUSION_VIOLATION = "23P01"
RATE_FIELDS = ("federal_rate", "state_rate", "social_security_rate", "medicare_rate")
MIN_YEAR, MAX_YEAR = 1900, 9999


class TaxRatesApi(ApiBase):
    async def CreateTaxRate(self, request: api.CreateTaxRateRequest, context_: Any) -> api.CreateTaxRateResponse:
        v = Validator()
        v.check(MIN_YEAR <= request.year <= MAX_YEAR, "year", f"is required: a year from {MIN_YEAR} to {MAX_YEAR}")
        rates = {name: v.collect(partial(decimal_from_pb, getattr(request, name), name)) for name in RATE_FIELDS}
        for name, value in rates.items():
            domain.validate_rate(v, value, name)
        domain.validate_rate_sum(v, list(rates.values()))
        start = v.collect(lambda: date_from_pb(request.effective_from, "effective_from"))
        end = v.collect(lambda: date_from_pb(request.effective_to, "effective_to", required=False))
        v.check(start is None or end is None or end >= start, "effective_to", "must be on or after effective_from")
        v.raise_if_any()
        assert start is not None
        try:
            async with self.db.unit_of_work() as uow:
                s = uow.session
                await s.execute(select(func.pg_advisory_xact_lock(TAX_RATE_LOCK_KEY)))
                clash = (
                    await s.execute(
                        select(TaxRate)
                        .where(
                            TaxRate.effective_from <= (end or FAR_FUTURE),
                            or_(TaxRate.effective_to.is_(None), TaxRate.effective_to >= start),
                        )
                        .order_by(TaxRate.effective_from)
                        .limit(1)
                    )
                ).scalar_one_or_none()
                if clash is not None:
                    raise FailedPrecondition(
                        f"the range {domain.describe_range(start, end)} overlaps tax rate {clash.id} "
                        f"({domain.describe_range(clash.effective_from, clash.effective_to)})"
                    )
                row = TaxRate(
                    id=uuid.uuid4(),
                    year=request.year,
                    effective_from=start,
                    effective_to=end,
                    created_at=self.clock.now(),
                    **rates,
                )
                s.add(row)
        except IntegrityError as exc:
            orig = getattr(exc.orig, "__cause__", None) or exc.orig
            if getattr(orig, "sqlstate", None) == EXCLUSION_VIOLATION:
                raise FailedPrecondition("the range overlaps another tax rate set") from None
            raise
        return api.CreateTaxRateResponse(tax_rate=mapping.tax_rate_to_pb(row))

    async def GetTaxRate(self, request: api.GetTaxRateRequest, context_: Any) -> api.GetTaxRateResponse:
        key = uuids_from_strs([request.id], "id")[0]
        async with self.db.read() as s:
            row = await get_or_404(s, TaxRate, key, "tax rate")
        return api.GetTaxRateResponse(tax_rate=mapping.tax_rate_to_pb(row))

    async def ListTaxRates(self, request: api.ListTaxRatesRequest, context_: Any) -> api.ListTaxRatesResponse:
        v = Validator()
        v.check(request.year == 0 or MIN_YEAR <= request.year <= MAX_YEAR, "year", "is not a valid year")
        on = v.collect(lambda: date_from_pb(request.effective_on, "effective_on", required=False))
        v.raise_if_any()
        stmt = select(TaxRate)
        if request.year:
            stmt = stmt.where(TaxRate.year == request.year)
        if on is not None:
            stmt = stmt.where(
                TaxRate.effective_from <= on, or_(TaxRate.effective_to.is_(None), TaxRate.effective_to >= on)
            )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [TaxRate.effective_from, TaxRate.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(request.year, on),
                descending=True,
            )
        return api.ListTaxRatesResponse(
            tax_rates=[mapping.tax_rate_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
