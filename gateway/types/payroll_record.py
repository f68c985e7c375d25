"""The PayrollRecord entity (erp.payroll.v1.PayrollRecord)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.payroll.v1 import payroll_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.types.journal_entry_source import JournalEntrySource
from gateway.wire import amount_of, date_of, datetime_of, id_or_none


@strawberry.enum(
    description="PENDING -> APPROVED -> PROCESSING -> PROCESSED -> PAID; PROCESSING -> FAILED -> PROCESSING (retry)."
)
class PayrollRecordStatus(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    PAID = "PAID"
    FAILED = "FAILED"


RECORD_STATUS = ProtoEnum(PayrollRecordStatus, pb.PayrollRecordStatus, "PAYROLL_RECORD_STATUS_")


@strawberry.federation.type(keys=["id"], description="One employee's pay for one pay period.")
@with_references(pb.PayrollRecord.DESCRIPTOR)
class PayrollRecord(JournalEntrySource):
    id: strawberry.ID
    payroll_run_id: strawberry.ID
    employee_id: strawberry.ID
    employee_name: str = strawberry.field(description="The employee's full name at calculation time.")
    department: str | None = strawberry.field(description="The department's name at calculation time.")
    pay_period_start: date
    pay_period_end: date
    gross_pay: Decimal
    federal_tax: Decimal
    state_tax: Decimal
    social_security_tax: Decimal
    medicare_tax: Decimal
    deductions: Decimal
    net_pay: Decimal
    status: PayrollRecordStatus
    failure_reason: str | None
    accounting_transaction_id: strawberry.ID | None
    processed_at: datetime | None
    approved_by: strawberry.ID | None
    approved_at: datetime | None
    pay_date: date | None
    payment_transaction_id: strawberry.ID | None
    paid_at: datetime | None
    create_time: datetime | None
    update_time: datetime | None
    version: int

    @classmethod
    def from_proto(cls, m: pb.PayrollRecord) -> PayrollRecord:
        return cls(
            id=strawberry.ID(m.id),
            payroll_run_id=strawberry.ID(m.payroll_run_id),
            employee_id=strawberry.ID(m.employee_id),
            employee_name=m.employee_name,
            department=m.department or None,
            pay_period_start=date_of(m.pay_period_start) or date.min,
            pay_period_end=date_of(m.pay_period_end) or date.min,
            gross_pay=amount_of(m.gross_pay),
            federal_tax=amount_of(m.federal_tax),
            state_tax=amount_of(m.state_tax),
            social_security_tax=amount_of(m.social_security_tax),
            medicare_tax=amount_of(m.medicare_tax),
            deductions=amount_of(m.deductions),
            net_pay=amount_of(m.net_pay),
            status=RECORD_STATUS.from_pb(m.status),
            failure_reason=m.failure_reason or None,
            accounting_transaction_id=id_or_none(m.accounting_transaction_id),
            processed_at=datetime_of(m, "processed_at"),
            approved_by=id_or_none(m.approved_by),
            approved_at=datetime_of(m, "approved_at"),
            pay_date=date_of(m.pay_date),
            payment_transaction_id=id_or_none(m.payment_transaction_id),
            paid_at=datetime_of(m, "paid_at"),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> PayrollRecord | None:
        message = await info.context.loaders.payroll.records.load(id)
        return None if message is None else cls.from_proto(message)
