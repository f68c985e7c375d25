"""The PayrollRun entity (erp.payroll.v1.PayrollRun)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.payroll.v1 import payroll_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.wire import amount_of, date_of, datetime_of, id_or_none


@strawberry.enum(description="Derived from the run's records: PENDING -> APPROVED -> PROCESSING -> PROCESSED -> PAID.")
class PayrollRunStatus(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    PAID = "PAID"
    FAILED = "FAILED"


RUN_STATUS = ProtoEnum(PayrollRunStatus, pb.PayrollRunStatus, "PAYROLL_RUN_STATUS_")


@strawberry.federation.type(
    keys=["id"], description="One execution of payroll for a period (optionally one department)."
)
class PayrollRun:
    id: strawberry.ID
    pay_period_start: date
    pay_period_end: date
    department: str | None = strawberry.field(description="The department the run is limited to; null for all.")
    status: PayrollRunStatus
    created_by: strawberry.ID | None
    approved_by: strawberry.ID | None
    approved_at: datetime | None
    employee_count: int
    failed_count: int
    total_gross: Decimal
    total_federal_tax: Decimal
    total_state_tax: Decimal
    total_social_security_tax: Decimal
    total_medicare_tax: Decimal
    total_deductions: Decimal
    total_net: Decimal
    create_time: datetime | None
    update_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.PayrollRun) -> PayrollRun:
        return cls(
            id=strawberry.ID(m.id),
            pay_period_start=date_of(m.pay_period_start) or date.min,
            pay_period_end=date_of(m.pay_period_end) or date.min,
            department=m.department or None,
            status=RUN_STATUS.from_pb(m.status),
            created_by=id_or_none(m.created_by),
            approved_by=id_or_none(m.approved_by),
            approved_at=datetime_of(m, "approved_at"),
            employee_count=m.employee_count,
            failed_count=m.failed_count,
            total_gross=amount_of(m.total_gross),
            total_federal_tax=amount_of(m.total_federal_tax),
            total_state_tax=amount_of(m.total_state_tax),
            total_social_security_tax=amount_of(m.total_social_security_tax),
            total_medicare_tax=amount_of(m.total_medicare_tax),
            total_deductions=amount_of(m.total_deductions),
            total_net=amount_of(m.total_net),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> PayrollRun | None:
        message = await info.context.loaders.payroll.runs.load(id)
        return None if message is None else cls.from_proto(message)
