"""Rows to protobuf messages and events for the payroll service."""

from __future__ import annotations

from datetime import datetime

from erp.payroll.v1 import events_pb2 as ev
from erp.payroll.v1 import payroll_pb2 as pb

from services.payroll.domain import RecordStatus, RunStatus
from services.payroll.tables import PayrollRecord, PayrollRun, TaxRate
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty, timestamp_to_pb

RECORD_STATUS_TO_PB = {
    RecordStatus.PENDING: pb.PAYROLL_RECORD_STATUS_PENDING,
    RecordStatus.APPROVED: pb.PAYROLL_RECORD_STATUS_APPROVED,
    RecordStatus.PROCESSING: pb.PAYROLL_RECORD_STATUS_PROCESSING,
    RecordStatus.PROCESSED: pb.PAYROLL_RECORD_STATUS_PROCESSED,
    RecordStatus.PAID: pb.PAYROLL_RECORD_STATUS_PAID,
    RecordStatus.FAILED: pb.PAYROLL_RECORD_STATUS_FAILED,
}
RECORD_STATUS_FROM_PB = {v: k for k, v in RECORD_STATUS_TO_PB.items()}

RUN_STATUS_TO_PB = {
    RunStatus.PENDING: pb.PAYROLL_RUN_STATUS_PENDING,
    RunStatus.APPROVED: pb.PAYROLL_RUN_STATUS_APPROVED,
    RunStatus.PROCESSING: pb.PAYROLL_RUN_STATUS_PROCESSING,
    RunStatus.PROCESSED: pb.PAYROLL_RUN_STATUS_PROCESSED,
    RunStatus.PAID: pb.PAYROLL_RUN_STATUS_PAID,
    RunStatus.FAILED: pb.PAYROLL_RUN_STATUS_FAILED,
}
RUN_STATUS_FROM_PB = {v: k for k, v in RUN_STATUS_TO_PB.items()}


def record_to_pb(row: PayrollRecord) -> pb.PayrollRecord:
    return pb.PayrollRecord(
        id=str(row.id),
        employee_id=str(row.employee_id),
        employee_name=row.employee_name,
        department=row.department or "",
        pay_period_start=date_to_pb(row.pay_period_start),
        pay_period_end=date_to_pb(row.pay_period_end),
        gross_pay=decimal_to_pb(row.gross_pay),
        federal_tax=decimal_to_pb(row.federal_tax),
        state_tax=decimal_to_pb(row.state_tax),
        social_security_tax=decimal_to_pb(row.social_security_tax),
        medicare_tax=decimal_to_pb(row.medicare_tax),
        deductions=decimal_to_pb(row.deductions),
        net_pay=decimal_to_pb(row.net_pay),
        status=RECORD_STATUS_TO_PB[RecordStatus(row.status)],
        accounting_transaction_id=str_or_empty(row.accounting_transaction_id),
        processed_at=timestamp_to_pb(row.processed_at),
        approved_by=str_or_empty(row.approved_by),
        approved_at=timestamp_to_pb(row.approved_at),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        failure_reason=row.failure_reason or "",
        payroll_run_id=str(row.payroll_run_id),
        version=row.version,
        pay_date=date_to_pb(row.pay_date),
        payment_transaction_id=str_or_empty(row.payment_transaction_id),
        paid_at=timestamp_to_pb(row.paid_at),
    )


def run_to_pb(row: PayrollRun) -> pb.PayrollRun:
    return pb.PayrollRun(
        id=str(row.id),
        pay_period_start=date_to_pb(row.pay_period_start),
        pay_period_end=date_to_pb(row.pay_period_end),
        department=row.department or "",
        status=RUN_STATUS_TO_PB[RunStatus(row.status)],
        created_by=str_or_empty(row.created_by),
        approved_by=str_or_empty(row.approved_by),
        approved_at=timestamp_to_pb(row.approved_at),
        employee_count=row.employee_count,
        total_gross=decimal_to_pb(row.total_gross),
        total_federal_tax=decimal_to_pb(row.total_federal_tax),
        total_state_tax=decimal_to_pb(row.total_state_tax),
        total_social_security_tax=decimal_to_pb(row.total_social_security_tax),
        total_medicare_tax=decimal_to_pb(row.total_medicare_tax),
        total_deductions=decimal_to_pb(row.total_deductions),
        total_net=decimal_to_pb(row.total_net),
        failed_count=row.failed_count,
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
    )


def tax_rate_to_pb(row: TaxRate) -> pb.TaxRate:
    return pb.TaxRate(
        id=str(row.id),
        year=row.year,
        federal_rate=decimal_to_pb(row.federal_rate),
        state_rate=decimal_to_pb(row.state_rate),
        social_security_rate=decimal_to_pb(row.social_security_rate),
        medicare_rate=decimal_to_pb(row.medicare_rate),
        effective_from=date_to_pb(row.effective_from),
        effective_to=date_to_pb(row.effective_to),
        create_time=timestamp_to_pb(row.created_at),
    )


# ---- events -----------------------------------------------------------------------------------


def run_created(row: PayrollRun) -> ev.PayrollRunCreated:
    return ev.PayrollRunCreated(
        payroll_run_id=str(row.id),
        pay_period_start=date_to_pb(row.pay_period_start),
        pay_period_end=date_to_pb(row.pay_period_end),
        department=row.department or "",
        created_by=str_or_empty(row.created_by),
        employee_count=row.employee_count,
        total_gross=decimal_to_pb(row.total_gross),
        total_taxes=decimal_to_pb(
            row.total_federal_tax + row.total_state_tax + row.total_social_security_tax + row.total_medicare_tax
        ),
        total_deductions=decimal_to_pb(row.total_deductions),
        total_net=decimal_to_pb(row.total_net),
    )


def run_approved(row: PayrollRun, approved_at: datetime) -> ev.PayrollRunApproved:
    return ev.PayrollRunApproved(
        payroll_run_id=str(row.id),
        pay_period_start=date_to_pb(row.pay_period_start),
        pay_period_end=date_to_pb(row.pay_period_end),
        department=row.department or "",
        approved_by=str_or_empty(row.approved_by),
        approved_at=timestamp_to_pb(approved_at),
        employee_count=row.employee_count,
        total_gross=decimal_to_pb(row.total_gross),
        total_net=decimal_to_pb(row.total_net),
    )


def payroll_processed(row: PayrollRecord) -> ev.PayrollProcessed:
    """What accounting needs to post the salary expense of one record."""
    return ev.PayrollProcessed(
        payroll_record_id=str(row.id),
        payroll_run_id=str(row.payroll_run_id),
        employee_id=str(row.employee_id),
        employee_name=row.employee_name,
        department=row.department or "",
        pay_period_start=date_to_pb(row.pay_period_start),
        pay_period_end=date_to_pb(row.pay_period_end),
        gross_pay=decimal_to_pb(row.gross_pay),
        federal_tax=decimal_to_pb(row.federal_tax),
        state_tax=decimal_to_pb(row.state_tax),
        social_security_tax=decimal_to_pb(row.social_security_tax),
        medicare_tax=decimal_to_pb(row.medicare_tax),
        deductions=decimal_to_pb(row.deductions),
        net_pay=decimal_to_pb(row.net_pay),
        version=row.version,
    )


def payroll_paid(row: PayrollRecord) -> ev.PayrollPaid:
    return ev.PayrollPaid(
        payroll_record_id=str(row.id),
        payroll_run_id=str(row.payroll_run_id),
        employee_id=str(row.employee_id),
        department=row.department or "",
        net_pay=decimal_to_pb(row.net_pay),
        pay_date=date_to_pb(row.pay_date),
        accounting_transaction_id=str_or_empty(row.accounting_transaction_id),
        version=row.version,
    )


def record_failed(row: PayrollRecord) -> ev.PayrollRecordFailed:
    return ev.PayrollRecordFailed(
        payroll_record_id=str(row.id),
        payroll_run_id=str(row.payroll_run_id),
        employee_id=str(row.employee_id),
        failure_reason=row.failure_reason or "",
        version=row.version,
    )
