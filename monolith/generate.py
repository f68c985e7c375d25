"""A deterministic ERP data set: the same seed and size always give the same rows and ids.

Sizes run from 100 to 100,000 employees; everything else is proportional: one department per
25 employees, a monthly payroll history (one record, one journal entry and three lines per
employee and month, computed with the payroll service's rules: a calendar month earns
salary / 12, each tax is gross x rate, all rounded half-up to cents), the general ledger with
running balances, one tax rate per year, and customers/invoices/payments, vendors/purchase
orders and inventory items/movements/reservations (`monolith.commerce`).

`python -m monolith.generate --employees 1000 --url postgresql://...` fills a monolith database.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from monolith import commerce
from monolith.model import (
    ACCOUNT_TYPES,
    SALARY_EXPENSE,
    SALARY_PAYABLE,
    WITHHOLDINGS,
    DataSet,
    Department,
    Employee,
    JournalEntry,
    JournalLine,
    LedgerRow,
    PayrollRecord,
    PayrollRun,
    TaxRate,
)

CENT = Decimal("0.01")
HISTORY_END = date(2025, 12, 31)  # the history's last month is December 2025
TAX_YEARS = range(2020, 2031)
EMPLOYEES_PER_DEPARTMENT = 25
MIN_EMPLOYEES, MAX_EMPLOYEES = 1, 100_000
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jun", "Kai", "Lena")
LAST_NAMES = ("Anders", "Baptiste", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen")
JOB_TITLES = ("Clerk", "Engineer", "Analyst", "Accountant", "Buyer", "Manager", "Technician", "Planner")
FUNCTIONS = ("Finance", "Sales", "Operations", "Engineering", "Purchasing", "Logistics", "Support", "People")


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def history_months(months: int, end: date = HISTORY_END) -> list[tuple[date, date]]:
    """The `months` calendar months ending with `end`'s month, oldest first."""
    out: list[tuple[date, date]] = []
    year, month = end.year, end.month
    for _ in range(months):
        out.append((date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def month_after(end: date, k: int) -> tuple[date, date]:
    """The k-th calendar month after `end`'s month (k >= 1): benchmark runs use fresh periods."""
    index = end.year * 12 + end.month - 1 + k
    year, month = divmod(index, 12)
    return date(year, month + 1, 1), date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def tax_rates(rng: random.Random) -> list[TaxRate]:
    return [
        TaxRate(
            new_uuid(rng),
            year,
            Decimal("0.1200") + Decimal("0.0010") * (year % 3),
            Decimal("0.0500"),
            Decimal("0.0620"),
            Decimal("0.0145"),
            date(year, 1, 1),
            date(year, 12, 31),
        )
        for year in TAX_YEARS
    ]


def people(rng: random.Random, n: int, hired_before: date) -> tuple[list[Department], list[Employee]]:
    """Departments and employees; each department's manager is its first employee."""
    n_departments = max(1, -(-n // EMPLOYEES_PER_DEPARTMENT))
    department_ids = [new_uuid(rng) for _ in range(n_departments)]
    first_hire = date(2010, 1, 1).toordinal()
    employees = []
    for i in range(n):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        employees.append(
            Employee(
                id=new_uuid(rng),
                first_name=first,
                last_name=f"{last}{i % 97}",
                email=f"{first}.{last}.{i}@example.com".lower(),
                phone_number=f"+1-555-{i:07d}",
                job_title=rng.choice(JOB_TITLES),
                salary=Decimal(rng.randrange(36_000, 180_000, 250)).quantize(CENT),
                hire_date=date.fromordinal(rng.randrange(first_hire, hired_before.toordinal())),
                status="on_leave" if rng.random() < 0.03 else "active",
                department_id=department_ids[i % n_departments],
                ssn=f"{rng.randrange(100, 900)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
                bank_account=f"DE{rng.getrandbits(64):020d}",
            )
        )
    departments = [
        Department(
            id=d_id,
            code=f"D{d:05d}",
            name=f"{FUNCTIONS[d % len(FUNCTIONS)]} {d:05d}",
            budget_code=f"BC-{d:05d}",
            manager_id=employees[d].id if d < n else None,
        )
        for d, d_id in enumerate(department_ids)
    ]
    return departments, employees


def rate_for(rates: list[TaxRate], day: date) -> TaxRate:
    return next(r for r in rates if r.effective_from <= day <= r.effective_to)


def payroll_history(rng: random.Random, data: DataSet) -> None:
    """One run per month; per employee a record, its journal entry and three lines; the ledger."""
    names = {d.id: d.name for d in data.departments}
    numbers: dict[int, int] = defaultdict(int)
    for start, end in history_months(data.history_months):
        rate = rate_for(data.tax_rates, end)
        run = PayrollRun(new_uuid(rng), start, end, rate.id)
        data.runs.append(run)
        posted = datetime.combine(end + timedelta(days=1), time(9), tzinfo=UTC)
        for e in data.employees:
            gross = cents(e.salary / 12)
            taxes = [cents(gross * r) for r in (rate.federal, rate.state, rate.social_security, rate.medicare)]
            federal, state, social, medicare = taxes
            net = gross - sum(taxes, Decimal(0))
            record_id, entry_id = new_uuid(rng), new_uuid(rng)
            data.records.append(
                PayrollRecord(
                    record_id, run.id, e.id, start, end, gross, federal, state, social, medicare, net, entry_id, posted
                )
            )
            numbers[end.year] += 1
            name = f"{e.first_name} {e.last_name}"
            data.entries.append(
                JournalEntry(
                    id=entry_id,
                    number=f"JE-{end.year}-{numbers[end.year]:06d}",
                    entry_date=end,
                    description=f"Payroll expense, {name}, {start.isoformat()} to {end.isoformat()}",
                    reference=f"payroll.expense:{record_id}",
                    source_service="payroll",
                    source_id=record_id,
                    total=gross,
                    department=names[e.department_id],
                    posted_at=posted,
                )
            )
            data.lines.extend(
                (
                    JournalLine(new_uuid(rng), entry_id, 1, SALARY_EXPENSE, f"Gross pay, {name}", gross, Decimal(0)),
                    JournalLine(
                        new_uuid(rng), entry_id, 2, WITHHOLDINGS, "Taxes and deductions", Decimal(0), gross - net
                    ),
                    JournalLine(new_uuid(rng), entry_id, 3, SALARY_PAYABLE, f"Net pay owed, {name}", Decimal(0), net),
                )
            )
    data.ledger = ledger_rows(data)


def ledger_rows(data: DataSet) -> list[LedgerRow]:
    """Running balances on each account's normal side, in posting order (entries are chronological)."""
    dates = {e.id: e.entry_date for e in data.entries}
    balances: dict[str, Decimal] = defaultdict(Decimal)
    rows = []
    for seq, line in enumerate(data.lines, start=1):
        debit_normal = ACCOUNT_TYPES[line.account_code] in ("asset", "expense")
        delta = line.debit - line.credit if debit_normal else line.credit - line.debit
        balances[line.account_code] += delta
        rows.append(LedgerRow(seq, line, dates[line.entry_id], balances[line.account_code]))
    return rows


def generate(employees: int, *, seed: int = 42, months: int = 12) -> DataSet:
    """The data set for `employees` employees and `months` months of payroll history."""
    if not MIN_EMPLOYEES <= employees <= MAX_EMPLOYEES:
        raise ValueError(f"employees must be between {MIN_EMPLOYEES} and {MAX_EMPLOYEES}")
    rng = random.Random(seed)
    history_start = history_months(months)[0][0]
    departments, staff = people(rng, employees, history_start)
    data = DataSet(seed, employees, months, approver_id=staff[0].id, departments=departments, employees=staff)
    data.tax_rates = tax_rates(rng)
    payroll_history(rng, data)
    data.other = commerce.generate(rng, data)
    return data


def main() -> None:
    from monolith.load import load_monolith

    parser = argparse.ArgumentParser(description="Fill a monolith database with a generated data set.")
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", required=True, help="postgresql:// URL of the database to (re)create")
    ns = parser.parse_args()
    data = generate(ns.employees, seed=ns.seed, months=ns.months)
    asyncio.run(load_monolith(ns.url, data))
    print({"url": ns.url, **data.counts()})


if __name__ == "__main__":
    main()
