"""Rows to protobuf messages and events for the finance service, and accounting's messages to
finance's plain values."""

from __future__ import annotations

from typing import Any

from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.finance.v1 import events_pb2 as ev
from erp.finance.v1 import finance_pb2 as pb
from google.protobuf.json_format import MessageToDict, ParseDict

from services.finance.domain import Figures
from services.finance.tables import (
    AccountingCacheEntry,
    Budget,
    BudgetTransaction,
    FinancialReport,
    UnattributedSpend,
)
from services.runtime.convert import date_to_pb, decimal_to_pb, timestamp_to_pb

STATUS_TO_PB = {
    "active": pb.BUDGET_STATUS_ACTIVE,
    "exceeded": pb.BUDGET_STATUS_EXCEEDED,
    "closed": pb.BUDGET_STATUS_CLOSED,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}

REPORT_TYPE_TO_PB = {
    "income_statement": pb.FINANCIAL_REPORT_TYPE_INCOME_STATEMENT,
    "balance_sheet": pb.FINANCIAL_REPORT_TYPE_BALANCE_SHEET,
    "cash_flow": pb.FINANCIAL_REPORT_TYPE_CASH_FLOW,
}
REPORT_TYPE_FROM_PB = {v: k for k, v in REPORT_TYPE_TO_PB.items()}

REASON_TO_PB = {
    "no_department": pb.UNATTRIBUTED_SPEND_REASON_NO_DEPARTMENT,
    "no_matching_budget": pb.UNATTRIBUTED_SPEND_REASON_NO_MATCHING_BUDGET,
}

ACCOUNT_TYPE_TO_PB = {
    "asset": acc_pb.ACCOUNT_TYPE_ASSET,
    "liability": acc_pb.ACCOUNT_TYPE_LIABILITY,
    "equity": acc_pb.ACCOUNT_TYPE_EQUITY,
    "revenue": acc_pb.ACCOUNT_TYPE_REVENUE,
    "expense": acc_pb.ACCOUNT_TYPE_EXPENSE,
}
ACCOUNT_TYPE_FROM_PB = {v: k for k, v in ACCOUNT_TYPE_TO_PB.items()}


def budget_to_pb(row: Budget) -> pb.Budget:
    return pb.Budget(
        id=str(row.id),
        department=row.department,
        fiscal_year=row.fiscal_year,
        quarter=row.quarter or 0,
        category=row.category,
        allocated_amount=decimal_to_pb(row.allocated_amount),
        spent_amount=decimal_to_pb(row.spent_amount),
        remaining_amount=decimal_to_pb(row.remaining_amount),
        utilization_percentage=decimal_to_pb(row.utilization_percentage),
        status=STATUS_TO_PB[row.status],
        start_date=date_to_pb(row.start_date),
        end_date=date_to_pb(row.end_date),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        version=row.version,
    )


def transaction_to_pb(row: BudgetTransaction) -> pb.BudgetTransaction:
    return pb.BudgetTransaction(
        id=str(row.id),
        budget_id=str(row.budget_id),
        transaction_date=date_to_pb(row.transaction_date),
        amount=decimal_to_pb(row.amount),
        description=row.description or "",
        reference=row.reference or "",
        source_service=row.source_service or "",
        create_time=timestamp_to_pb(row.created_at),
    )


def unattributed_to_pb(row: UnattributedSpend) -> pb.UnattributedSpend:
    return pb.UnattributedSpend(
        id=str(row.id),
        journal_entry_id=str(row.journal_entry_id),
        journal_number=row.journal_number,
        transaction_date=date_to_pb(row.transaction_date),
        account_code=row.account_code,
        amount=decimal_to_pb(row.amount),
        department=row.department or "",
        category=row.category or "",
        source_service=row.source_service or "",
        reference=row.reference or "",
        reason=REASON_TO_PB[row.reason],
        create_time=timestamp_to_pb(row.created_at),
    )


def report_data_to_json(data: pb.FinancialReportData) -> dict[str, Any]:
    """The JSONB snapshot: the proto's JSON form (decimals stay strings)."""
    return MessageToDict(data, preserving_proto_field_name=True)


def report_to_pb(row: FinancialReport) -> pb.FinancialReport:
    data = ParseDict(row.report_data, pb.FinancialReportData())
    return pb.FinancialReport(
        id=str(row.id),
        report_type=REPORT_TYPE_TO_PB[row.report_type],
        period_start=date_to_pb(row.period_start),
        period_end=date_to_pb(row.period_end),
        report_data=data,
        generated_at=timestamp_to_pb(row.generated_at),
    )


def cache_entry_to_pb(row: AccountingCacheEntry) -> pb.AccountingCacheEntry:
    return pb.AccountingCacheEntry(
        id=str(row.id),
        account_code=row.account_code,
        account_name=row.account_name,
        account_type=ACCOUNT_TYPE_TO_PB[row.account_type],
        balance=decimal_to_pb(row.balance),
        as_of_date=date_to_pb(row.as_of_date),
        last_synced_at=timestamp_to_pb(row.last_synced_at),
    )


# ---- events ---------------------------------------------------------------------------------------


def budget_allocated(row: Budget) -> ev.BudgetAllocated:
    return ev.BudgetAllocated(
        budget_id=str(row.id),
        department=row.department,
        fiscal_year=row.fiscal_year,
        quarter=row.quarter or 0,
        category=row.category,
        allocated_amount=decimal_to_pb(row.allocated_amount),
        start_date=date_to_pb(row.start_date),
        end_date=date_to_pb(row.end_date),
        status=STATUS_TO_PB[row.status],
        version=row.version,
    )


def budget_updated(row: Budget, changed: list[str], status_changed: bool) -> ev.BudgetUpdated:
    """Only the changed fields, plus the recomputed spent and remaining amounts."""
    msg = ev.BudgetUpdated(
        budget_id=str(row.id),
        changed_fields=sorted(changed),
        spent_amount=decimal_to_pb(row.spent_amount),
        remaining_amount=decimal_to_pb(row.remaining_amount),
        version=row.version,
    )
    if "category" in changed:
        msg.category = row.category
    if "allocated_amount" in changed:
        msg.allocated_amount.CopyFrom(decimal_to_pb(row.allocated_amount))
    if "start_date" in changed:
        msg.start_date.CopyFrom(date_to_pb(row.start_date))
    if "end_date" in changed:
        msg.end_date.CopyFrom(date_to_pb(row.end_date))
    if status_changed:
        msg.status = STATUS_TO_PB[row.status]
    return msg


def budget_exceeded(row: Budget) -> ev.BudgetExceeded:
    return ev.BudgetExceeded(
        budget_id=str(row.id),
        department=row.department,
        category=row.category,
        fiscal_year=row.fiscal_year,
        quarter=row.quarter or 0,
        allocated_amount=decimal_to_pb(row.allocated_amount),
        spent_amount=decimal_to_pb(row.spent_amount),
        overrun_amount=decimal_to_pb(row.spent_amount - row.allocated_amount),
        version=row.version,
    )


def budget_closed(row: Budget) -> ev.BudgetClosed:
    return ev.BudgetClosed(
        budget_id=str(row.id),
        department=row.department,
        category=row.category,
        allocated_amount=decimal_to_pb(row.allocated_amount),
        spent_amount=decimal_to_pb(row.spent_amount),
        remaining_amount=decimal_to_pb(row.remaining_amount),
        version=row.version,
    )


def report_generated(row: FinancialReport) -> ev.FinancialReportGenerated:
    return ev.FinancialReportGenerated(
        report_id=str(row.id),
        report_type=REPORT_TYPE_TO_PB[row.report_type],
        period_start=date_to_pb(row.period_start),
        period_end=date_to_pb(row.period_end),
        generated_at=timestamp_to_pb(row.generated_at),
    )


def set_figures(row: Budget, fig: Figures) -> None:
    row.allocated_amount = fig.allocated
    row.spent_amount = fig.spent
    row.remaining_amount = fig.remaining
    row.utilization_percentage = fig.utilization
    row.status = fig.status.value
