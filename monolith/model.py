"""The logical data set, as plain tuples (a 100,000-employee history is millions of rows).

The same rows fill the monolith (`monolith.load`) and the service databases
(`monolith.service_load`), so both answer the same questions about the same ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from services.accounting import chart

# The standard chart: the monolith holds the same accounts accounting_db is seeded with.
CHART = chart.STANDARD_CHART
ACCOUNT_TYPES = {code: kind for code, _, kind, _ in CHART}
SALARY_EXPENSE, WITHHOLDINGS, SALARY_PAYABLE = (
    chart.SALARY_EXPENSE,
    chart.PAYROLL_TAX_WITHHOLDINGS,
    chart.SALARY_PAYABLE,
)


class Department(NamedTuple):
    id: uuid.UUID
    code: str
    name: str
    budget_code: str
    manager_id: uuid.UUID | None


class Employee(NamedTuple):
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone_number: str
    job_title: str
    salary: Decimal
    hire_date: date
    status: str
    department_id: uuid.UUID
    ssn: str
    bank_account: str


class TaxRate(NamedTuple):
    id: uuid.UUID
    year: int
    federal: Decimal
    state: Decimal
    social_security: Decimal
    medicare: Decimal
    effective_from: date
    effective_to: date


class PayrollRun(NamedTuple):
    id: uuid.UUID
    start: date
    end: date
    tax_rate_id: uuid.UUID


class PayrollRecord(NamedTuple):
    id: uuid.UUID
    run_id: uuid.UUID
    employee_id: uuid.UUID
    start: date
    end: date
    gross: Decimal
    federal: Decimal
    state: Decimal
    social_security: Decimal
    medicare: Decimal
    net: Decimal
    journal_entry_id: uuid.UUID
    processed_at: datetime


class JournalEntry(NamedTuple):
    id: uuid.UUID
    number: str
    entry_date: date
    description: str
    reference: str
    source_service: str
    source_id: uuid.UUID
    total: Decimal
    department: str | None
    posted_at: datetime


class JournalLine(NamedTuple):
    id: uuid.UUID
    entry_id: uuid.UUID
    line_number: int
    account_code: str
    description: str
    debit: Decimal
    credit: Decimal


class LedgerRow(NamedTuple):
    seq: int
    line: JournalLine
    entry_date: date
    balance: Decimal


@dataclass
class DataSet:
    """Everything one `generate()` call produced (lists in insertion order)."""

    seed: int
    employees_wanted: int
    history_months: int
    approver_id: uuid.UUID
    departments: list[Department] = field(default_factory=list)
    employees: list[Employee] = field(default_factory=list)
    tax_rates: list[TaxRate] = field(default_factory=list)
    runs: list[PayrollRun] = field(default_factory=list)
    records: list[PayrollRecord] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    lines: list[JournalLine] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    # Rows of the other domains, keyed by monolith table name, already in column order.
    other: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        base = {
            "departments": len(self.departments),
            "employees": len(self.employees),
            "tax_rates": len(self.tax_rates),
            "payroll_runs": len(self.runs),
            "payroll_records": len(self.records),
            "journal_entries": len(self.entries),
            "journal_entry_lines": len(self.lines),
            "general_ledger": len(self.ledger),
        }
        return base | {table: len(rows) for table, rows in self.other.items()}
