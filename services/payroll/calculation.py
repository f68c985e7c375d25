"""RunPayroll's data path: set-based, a constant number of statements whatever the head count.

1. the tax rates in force on the period's last day (missing: FAILED_PRECONDITION, nothing written);
2. one SELECT of every payable cached employee, flagged when a record already covers an
   overlapping period (those are skipped: nobody is paid twice);
3. gross-to-net in Python (domain.calculate_pay);
4. one INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT DO NOTHING on the natural key,
   RETURNING what was inserted (a concurrent run's rows are skipped, not duplicated).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, Date, Integer, Numeric, String, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from services.payroll import domain
from services.payroll.tables import EmployeeCache, PayrollRecord, TaxRate
from services.runtime.errors import FailedPrecondition

PAYABLE_STATUSES = ("active", "on_leave")
MONEY_COLUMNS = ("gross_pay", "federal_tax", "state_tax", "social_security_tax", "medicare_tax", "net_pay")
ARRAY_COLUMNS: dict[str, TypeEngine[Any]] = {
    "employee_id": UUID(as_uuid=True),
    "employee_name": String(),
    "department": String(),
    **{name: Numeric(10, 2) for name in MONEY_COLUMNS},
}


@dataclass(frozen=True)
class PricedRecord:
    employee_id: uuid.UUID
    employee_name: str
    department: str | None
    pay: domain.Paycheck


async def tax_rate_on(session: AsyncSession, day: date) -> TaxRate:
    row = (
        await session.execute(
            select(TaxRate).where(
                TaxRate.effective_from <= day, or_(TaxRate.effective_to.is_(None), TaxRate.effective_to >= day)
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise FailedPrecondition(f"no tax rate is in force on {day.isoformat()}: create one with CreateTaxRate")
    return row


def rates_of(row: TaxRate) -> domain.TaxRates:
    return domain.TaxRates(row.federal_rate, row.state_rate, row.social_security_rate, row.medicare_rate)


async def payable_employees(session: AsyncSession, start: date, end: date, department: str | None) -> list[Any]:
    """Cached employees employed on some day of the period, each flagged `already_paid` when a
    record of theirs covers an overlapping period."""
    already_paid = (
        select(PayrollRecord.id)
        .where(
            PayrollRecord.employee_id == EmployeeCache.employee_id,
            PayrollRecord.pay_period_start <= end,
            PayrollRecord.pay_period_end >= start,
        )
        .exists()
    )
    stmt = select(
        EmployeeCache.employee_id,
        EmployeeCache.first_name,
        EmployeeCache.last_name,
        EmployeeCache.department,
        EmployeeCache.salary,
        EmployeeCache.hire_date,
        EmployeeCache.termination_date,
        already_paid.label("already_paid"),
    ).where(
        EmployeeCache.hire_date <= end,
        or_(EmployeeCache.termination_date.is_(None), EmployeeCache.termination_date >= start),
        or_(EmployeeCache.status.in_(PAYABLE_STATUSES), EmployeeCache.termination_date.is_not(None)),
    )
    if department is not None:
        stmt = stmt.where(EmployeeCache.department == department)
    return list((await session.execute(stmt.order_by(EmployeeCache.employee_id))).all())


def price(employees: list[Any], start: date, end: date, rates: domain.TaxRates) -> list[PricedRecord]:
    out: list[PricedRecord] = []
    for e in employees:
        pay = domain.calculate_pay(e.salary, start, end, e.hire_date, e.termination_date, rates)
        if pay is not None:
            out.append(PricedRecord(e.employee_id, domain.employee_name(e.first_name, e.last_name), e.department, pay))
    return out


def _array(name: str, values: list[Any]) -> Any:
    sql_type = ARRAY(ARRAY_COLUMNS[name])
    return cast(literal(values, sql_type), sql_type)


async def insert_records(
    session: AsyncSession, run_id: uuid.UUID, start: date, end: date, priced: list[PricedRecord], now: datetime
) -> set[uuid.UUID]:
    """One INSERT for every record; returns the employee ids actually inserted."""
    if not priced:
        return set()
    values: dict[str, list[Any]] = {
        "employee_id": [p.employee_id for p in priced],
        "employee_name": [p.employee_name for p in priced],
        "department": [p.department for p in priced],
        "gross_pay": [p.pay.gross for p in priced],
        "federal_tax": [p.pay.federal_tax for p in priced],
        "state_tax": [p.pay.state_tax for p in priced],
        "social_security_tax": [p.pay.social_security_tax for p in priced],
        "medicare_tax": [p.pay.medicare_tax for p in priced],
        "net_pay": [p.pay.net for p in priced],
    }
    names = list(values)
    source = func.unnest(*(_array(n, values[n]) for n in names)).table_valued(*names).render_derived(name="priced")
    constants = {
        "payroll_run_id": literal(run_id, UUID(as_uuid=True)),
        "pay_period_start": literal(start, Date),
        "pay_period_end": literal(end, Date),
        "deductions": literal(domain.ZERO, Numeric(10, 2)),
        "status": literal(domain.RecordStatus.PENDING.value, String),
        "version": literal(1, Integer),
        "created_at": literal(now),
        "updated_at": literal(now),
    }
    select_rows = select(*(source.c[n] for n in names), *constants.values())
    stmt = (
        pg_insert(PayrollRecord)
        .from_select([*names, *constants], select_rows)
        .on_conflict_do_nothing(index_elements=["employee_id", "pay_period_start", "pay_period_end"])
        .returning(PayrollRecord.employee_id)
    )
    return set((await session.execute(stmt)).scalars())
