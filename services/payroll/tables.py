"""payroll_db: payroll records and runs, tax rates and the employee cache (spec section 2).

Ids of other services' entities are logical references: no foreign key, a column comment
derived from the contract's `(erp.common.v1.ref)` option. `payroll_runs` (not in the spec)
groups the records one RunPayroll call produced; inside this database it is a real foreign key.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal

from erp.common.v1 import options_pb2
from erp.payroll.v1 import payroll_pb2 as pb
from google.protobuf.descriptor import Descriptor
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    literal,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import UUID, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from services.payroll.domain import RECORD_STATUSES, RUN_STATUSES
from services.runtime.tables import created_at_column, new_metadata, updated_at_column, uuid_pk

MONEY = Numeric(10, 2)
TOTAL = Numeric(15, 2)
RATE = Numeric(5, 4)
FAR_FUTURE = date(9999, 12, 31)


def reference_comment(target: str, target_field: str = "") -> str:
    """The spec's phase-1 column comment for a logical reference to `target` (a message name)."""
    _, service, _, message = target.split(".")
    owner = " ".join(part.capitalize() for part in service.split("_"))
    entity = re.sub(r"(?<!^)(?=[A-Z])", "_", message).lower()
    return f"Logical reference to {owner} Service - {entity}.{target_field or 'id'}"


def ref_comment(message: Descriptor, field: str) -> str:
    """The column comment declared by the contract for `message.field` (its `ref` option)."""
    ref = message.fields_by_name[field].GetOptions().Extensions[options_pb2.ref]
    if not ref.target:
        raise ValueError(f"{message.full_name}.{field} declares no logical reference")
    return reference_comment(ref.target, ref.target_field)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Base(DeclarativeBase):
    metadata = new_metadata()


class EmployeeCache(Base):
    """Payroll's copy of the employee data it needs, kept current from employee events."""

    __tablename__ = "employee_cache"
    __table_args__ = (
        Index("idx_employee_cache_status", "status"),
        Index("idx_employee_cache_department", "department"),
        Index("idx_employee_cache_department_id", "department_id"),
        CheckConstraint("status IN ('active', 'on_leave', 'terminated')", name="status_known"),
    )

    employee_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, comment=ref_comment(pb.EmployeeCacheEntry.DESCRIPTOR, "employee_id")
    )
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str | None] = mapped_column(String(255))
    salary: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    department: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    last_synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment=reference_comment("erp.employee.v1.Department")
    )
    hire_date: Mapped[date] = mapped_column(Date, nullable=False)
    termination_date: Mapped[date | None] = mapped_column(Date)
    employee_version: Mapped[int] = mapped_column(Integer, nullable=False)


class TaxRate(Base):
    """Withholding rates in force from effective_from to effective_to (open-ended when NULL)."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        Index("idx_tax_rates_effective", "effective_from", "id"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="range_ordered"),
        CheckConstraint(
            "federal_rate BETWEEN 0 AND 1 AND state_rate BETWEEN 0 AND 1 "
            "AND social_security_rate BETWEEN 0 AND 1 AND medicare_rate BETWEEN 0 AND 1",
            name="rates_are_fractions",
        ),
        ExcludeConstraint(
            (func.daterange(text("effective_from"), text("effective_to"), literal("[]")), "&&"),
            using="gist",
            name="ex_tax_rates_no_overlap",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    federal_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    state_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    social_security_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    medicare_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    effective_from: Mapped[date] = mapped_column(Date, nullable=False)
    effective_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at_column()


class PayrollRun(Base):
    """One RunPayroll call: its period, totals, approval and how many records are in each status."""

    __tablename__ = "payroll_runs"
    __table_args__ = (
        Index("idx_payroll_runs_period", "pay_period_start", "id"),
        Index("idx_payroll_runs_status", "status"),
        CheckConstraint(f"status IN {_in(RUN_STATUSES)}", name="status_known"),
        CheckConstraint("pay_period_end >= pay_period_start", name="period_ordered"),
        CheckConstraint(
            "employee_count = pending_count + processing_count + processed_count + paid_count + failed_count",
            name="counts_add_up",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    pay_period_start: Mapped[date] = mapped_column(Date, nullable=False)
    pay_period_end: Mapped[date] = mapped_column(Date, nullable=False)
    department: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'pending'"))
    tax_rate_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tax_rates.id", name="fk_payroll_runs_tax_rate_id_tax_rates"), nullable=False
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    employee_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    total_gross: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    total_federal_tax: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    total_state_tax: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    total_social_security_tax: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    total_medicare_tax: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    total_deductions: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    total_net: Mapped[Decimal] = mapped_column(TOTAL, nullable=False, server_default=text("0"))
    pending_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    processing_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    processed_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    paid_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    failed_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PayrollRecord(Base):
    """One employee's pay for one period (spec columns plus run, version and saga state)."""

    __tablename__ = "payroll_records"
    __table_args__ = (
        Index("idx_payroll_employee", "employee_id"),
        Index("idx_payroll_status", "status"),
        Index("idx_payroll_period", "pay_period_start", "pay_period_end"),
        Index("idx_payroll_run", "payroll_run_id", "status"),
        Index("idx_payroll_processing", "updated_at", "id", postgresql_where=text("status = 'processing'")),
        CheckConstraint(f"status IN {_in(RECORD_STATUSES)}", name="status_known"),
        CheckConstraint("pay_period_end >= pay_period_start", name="period_ordered"),
        CheckConstraint(
            "gross_pay >= 0 AND federal_tax >= 0 AND state_tax >= 0 AND social_security_tax >= 0 "
            "AND medicare_tax >= 0 AND deductions >= 0 AND net_pay >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint(
            "net_pay = gross_pay - federal_tax - state_tax - social_security_tax - medicare_tax - deductions",
            name="net_is_gross_less_withholdings",
        ),
        CheckConstraint("(status = 'failed') = (failure_reason IS NOT NULL)", name="failed_has_reason"),
        # The natural key: one record per employee and period (RunPayroll inserts ON CONFLICT DO NOTHING).
        UniqueConstraint(
            "employee_id", "pay_period_start", "pay_period_end", name="uq_payroll_records_employee_period"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    employee_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), nullable=False, comment=ref_comment(pb.PayrollRecord.DESCRIPTOR, "employee_id")
    )
    employee_name: Mapped[str] = mapped_column(String(200), nullable=False)
    department: Mapped[str | None] = mapped_column(String(100))
    pay_period_start: Mapped[date] = mapped_column(Date, nullable=False)
    pay_period_end: Mapped[date] = mapped_column(Date, nullable=False)
    gross_pay: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    federal_tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    state_tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    social_security_tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    medicare_tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    deductions: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=text("0"))
    net_pay: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'pending'"))
    accounting_transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment=ref_comment(pb.PayrollRecord.DESCRIPTOR, "accounting_transaction_id")
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    payroll_run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("payroll_runs.id", name="fk_payroll_records_payroll_run_id_payroll_runs"),
        nullable=False,
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    payment_transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment=ref_comment(pb.PayrollRecord.DESCRIPTOR, "accounting_transaction_id")
    )
    pay_date: Mapped[date | None] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Days from the period start to the far future: ascending order = newest period first, so
    # keyset pages can order by (period newest first, employee name, id) in one direction.
    period_order: Mapped[int] = column_property(
        literal_column(f"DATE '{FAR_FUTURE.isoformat()}'", Date) - pay_period_start
    )
