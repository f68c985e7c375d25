"""AccountingService, fiscal periods: list, create, close a period, close a fiscal year."""

from __future__ import annotations

import uuid
from typing import Any

from erp.accounting.v1 import accounting_service_pb2 as api
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.accounting import accounts, domain, mapping, periods, reports
from services.accounting.api_base import ApiBase, caller_id, text_arg
from services.accounting.posting import post_entry
from services.accounting.tables import FiscalPeriod
from services.runtime.convert import date_from_pb, decimal_to_pb, uuid_from_str
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Validator
from services.runtime.repository import get_or_404, list_page

UNIQUE_MESSAGES = {"uq_fiscal_periods_year_number": "this fiscal year already has a period with this number"}
OVERLAP = "ex_fiscal_periods_no_overlap"


class PeriodsApi(ApiBase):
    async def ListFiscalPeriods(
        self, request: api.ListFiscalPeriodsRequest, context_: Any
    ) -> api.ListFiscalPeriodsResponse:
        if any(s not in mapping.PERIOD_STATUS_FROM_PB for s in request.statuses):
            raise InvalidArgument.field("statuses", "contains an unknown status")
        stmt = select(FiscalPeriod)
        if request.fiscal_year:
            stmt = stmt.where(FiscalPeriod.fiscal_year == request.fiscal_year)
        if request.statuses:
            stmt = stmt.where(FiscalPeriod.status.in_([mapping.PERIOD_STATUS_FROM_PB[s] for s in request.statuses]))
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [FiscalPeriod.start_date, FiscalPeriod.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(request.fiscal_year, sorted(request.statuses)),
            )
        return api.ListFiscalPeriodsResponse(
            fiscal_periods=[mapping.period_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CreateFiscalPeriod(
        self, request: api.CreateFiscalPeriodRequest, context_: Any
    ) -> api.CreateFiscalPeriodResponse:
        v = Validator()
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date"))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date"))
        domain.validate_period(v, request.fiscal_year, request.period_number, start, end)
        v.raise_if_any()
        assert start is not None and end is not None
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                same_number = await uow.session.execute(
                    select(FiscalPeriod.id).where(
                        FiscalPeriod.fiscal_year == request.fiscal_year,
                        FiscalPeriod.period_number == request.period_number,
                    )
                )
                if same_number.first() is not None:
                    raise AlreadyExists(UNIQUE_MESSAGES["uq_fiscal_periods_year_number"])
                overlapping = (
                    (
                        await uow.session.execute(
                            select(FiscalPeriod).where(FiscalPeriod.start_date <= end, FiscalPeriod.end_date >= start)
                        )
                    )
                    .scalars()
                    .first()
                )
                if overlapping is not None:
                    raise _overlap_error(overlapping)
                row = FiscalPeriod(
                    id=uuid.uuid4(),
                    fiscal_year=request.fiscal_year,
                    period_number=request.period_number,
                    start_date=start,
                    end_date=end,
                    status=domain.PeriodStatus.OPEN.value,
                    created_at=now,
                    updated_at=now,
                )
                uow.session.add(row)
        except IntegrityError as exc:
            if OVERLAP in str(exc.orig):
                raise FailedPrecondition("the period overlaps an existing fiscal period") from None
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateFiscalPeriodResponse(fiscal_period=mapping.period_to_pb(row))

    async def CloseFiscalPeriod(
        self, request: api.CloseFiscalPeriodRequest, context_: Any
    ) -> api.CloseFiscalPeriodResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_or_404(uow.session, FiscalPeriod, key, "fiscal period", lock=True)
            if row.status == domain.PeriodStatus.CLOSED:
                label = domain.period_label(row.fiscal_year, row.period_number)
                raise FailedPrecondition(f"fiscal period {label} is already closed")
            self._close(uow, row)
        return api.CloseFiscalPeriodResponse(fiscal_period=mapping.period_to_pb(row))

    async def CloseFiscalYear(self, request: api.CloseFiscalYearRequest, context_: Any) -> api.CloseFiscalYearResponse:
        year = request.fiscal_year
        v = Validator()
        code = text_arg(v, request.retained_earnings_account_code, "retained_earnings_account_code", 20)
        v.check(1 <= year <= 9999, "fiscal_year", "must be between 1 and 9999")
        v.require(code, "retained_earnings_account_code")
        v.raise_if_any()
        now = self.clock.now()
        closing = None
        net_income = domain.ZERO
        async with self.db.unit_of_work() as uow:
            s = uow.session
            retained = await accounts.by_code(s, code)
            if retained is None:
                raise InvalidArgument.field("retained_earnings_account_code", f"account {code} does not exist")
            if retained.account_type != domain.AccountType.EQUITY:
                raise InvalidArgument.field("retained_earnings_account_code", "must be an equity account")
            domain.ensure_postable(retained.account_code, retained.account_name, retained.is_active)
            await periods.create_missing(s, domain.year_months(year), now)
            year_periods = await periods.lock_year(s, year)
            if not year_periods:
                raise NotFound("fiscal year", str(year))
            if all(p.status == domain.PeriodStatus.CLOSED for p in year_periods):
                raise FailedPrecondition(f"fiscal year {year} is already closed")
            start, end = year_periods[0].start_date, max(p.end_date for p in year_periods)
            amounts = await reports.totals_between(
                s, start, end, account_types=domain.PROFIT_AND_LOSS, include_closing=True
            )
            lines, net_income = domain.closing_lines(amounts, code)
            if lines:
                draft = domain.Draft(
                    entry_date=end,
                    lines=lines,
                    description=f"Year-end close of fiscal year {year}",
                    reference=f"YEAR-END-{year}",
                    source_service=domain.ACCOUNTING,
                    posting_key=f"accounting.year_close:{year}",
                    posted_by=caller_id(),
                    is_closing=True,
                    allow_inactive_accounts=True,
                )
                closing = (await post_entry(uow, draft, now=now)).entry
            for period in year_periods:
                if period.status == domain.PeriodStatus.OPEN:
                    self._close(uow, period)
        return api.CloseFiscalYearResponse(
            fiscal_periods=[mapping.period_to_pb(p) for p in year_periods],
            closing_entry=mapping.entry_to_pb(closing) if closing is not None else None,
            net_income=decimal_to_pb(net_income),
        )

    def _close(self, uow: UnitOfWork, row: FiscalPeriod) -> None:
        now = self.clock.now()
        row.status = domain.PeriodStatus.CLOSED.value
        row.closed_at = now
        row.closed_by = caller_id()
        row.updated_at = now
        uow.record(mapping.fiscal_period_closed(row), aggregate_type="FiscalPeriod", aggregate_id=row.id)


def _overlap_error(other: FiscalPeriod) -> FailedPrecondition:
    label = domain.period_label(other.fiscal_year, other.period_number)
    return FailedPrecondition(
        f"the period overlaps fiscal period {label} ({other.start_date.isoformat()} to {other.end_date.isoformat()})"
    )
