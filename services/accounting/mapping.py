"""Rows to protobuf messages and events for the accounting service."""

from __future__ import annotations

from collections.abc import Mapping

from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import events_pb2 as ev

from services.accounting import domain, statements
from services.accounting.entry_data import EntryData, LineData
from services.accounting.tables import Account, FiscalPeriod, JournalEntry, LedgerRow
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty, timestamp_to_pb

ACCOUNT_TYPE_TO_PB = {
    "asset": pb.ACCOUNT_TYPE_ASSET,
    "liability": pb.ACCOUNT_TYPE_LIABILITY,
    "equity": pb.ACCOUNT_TYPE_EQUITY,
    "revenue": pb.ACCOUNT_TYPE_REVENUE,
    "expense": pb.ACCOUNT_TYPE_EXPENSE,
}
ACCOUNT_TYPE_FROM_PB = {v: k for k, v in ACCOUNT_TYPE_TO_PB.items()}
ENTRY_STATUS_TO_PB = {
    "draft": pb.JOURNAL_ENTRY_STATUS_DRAFT,
    "posted": pb.JOURNAL_ENTRY_STATUS_POSTED,
    "reversed": pb.JOURNAL_ENTRY_STATUS_REVERSED,
}
ENTRY_STATUS_FROM_PB = {v: k for k, v in ENTRY_STATUS_TO_PB.items()}
PERIOD_STATUS_TO_PB = {"open": pb.FISCAL_PERIOD_STATUS_OPEN, "closed": pb.FISCAL_PERIOD_STATUS_CLOSED}
PERIOD_STATUS_FROM_PB = {v: k for k, v in PERIOD_STATUS_TO_PB.items()}


def account_to_pb(row: Account) -> pb.Account:
    return pb.Account(
        id=str(row.id),
        account_code=row.account_code,
        account_name=row.account_name,
        account_type=ACCOUNT_TYPE_TO_PB[row.account_type],
        parent_account_code=row.parent_account_code or "",
        is_active=row.is_active,
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
    )


def line_to_pb(row: LineData) -> pb.JournalEntryLine:
    return pb.JournalEntryLine(
        id=str(row.id),
        journal_entry_id=str(row.journal_entry_id),
        line_number=row.line_number,
        account_code=row.account_code,
        description=row.description or "",
        debit_amount=decimal_to_pb(row.debit_amount),
        credit_amount=decimal_to_pb(row.credit_amount),
        create_time=timestamp_to_pb(row.created_at),
    )


def entry_to_pb(row: EntryData) -> pb.JournalEntry:
    return pb.JournalEntry(
        id=str(row.id),
        journal_number=row.journal_number,
        entry_date=date_to_pb(row.entry_date),
        description=row.description or "",
        reference=row.reference or "",
        source_service=row.source_service or "",
        source_id=str_or_empty(row.source_id),
        total_debit=decimal_to_pb(row.total_debit),
        total_credit=decimal_to_pb(row.total_credit),
        status=ENTRY_STATUS_TO_PB[row.status],
        posted_by=str_or_empty(row.posted_by),
        posted_at=timestamp_to_pb(row.posted_at),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        reversal_of_id=str_or_empty(row.reversal_of_id),
        reversed_by_id=str_or_empty(row.reversed_by_id),
        department=row.department or "",
        lines=[line_to_pb(line) for line in row.lines],
    )


def ledger_to_pb(row: LedgerRow) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        id=str(row.id),
        account_code=row.account_code,
        transaction_date=date_to_pb(row.transaction_date),
        journal_entry_id=str(row.journal_entry_id),
        description=row.description or "",
        debit_amount=decimal_to_pb(row.debit_amount),
        credit_amount=decimal_to_pb(row.credit_amount),
        running_balance=decimal_to_pb(row.running_balance),
        create_time=timestamp_to_pb(row.created_at),
    )


def period_to_pb(row: FiscalPeriod) -> pb.FiscalPeriod:
    return pb.FiscalPeriod(
        id=str(row.id),
        fiscal_year=row.fiscal_year,
        period_number=row.period_number,
        start_date=date_to_pb(row.start_date),
        end_date=date_to_pb(row.end_date),
        status=PERIOD_STATUS_TO_PB[row.status],
        closed_at=timestamp_to_pb(row.closed_at),
        closed_by=str_or_empty(row.closed_by),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
    )


def statement_line_to_pb(line: statements.Line) -> pb.StatementLine:
    return pb.StatementLine(
        account_code=line.account_code,
        account_name=line.account_name,
        account_type=ACCOUNT_TYPE_TO_PB[line.account_type],
        amount=decimal_to_pb(line.amount),
    )


# ---- events ------------------------------------------------------------------------------------


def posted_lines(row: EntryData, account_types: Mapping[str, str]) -> list[ev.PostedJournalLine]:
    return [
        ev.PostedJournalLine(
            line_number=line.line_number,
            account_code=line.account_code,
            account_type=ACCOUNT_TYPE_TO_PB[account_types[line.account_code]],
            debit_amount=decimal_to_pb(line.debit_amount),
            credit_amount=decimal_to_pb(line.credit_amount),
            description=line.description or "",
        )
        for line in row.lines
    ]


def journal_entry_posted(row: EntryData, account_types: Mapping[str, str]) -> ev.JournalEntryPosted:
    return ev.JournalEntryPosted(
        journal_entry_id=str(row.id),
        journal_number=row.journal_number,
        entry_date=date_to_pb(row.entry_date),
        source_service=row.source_service or "",
        source_id=str_or_empty(row.source_id),
        reference=row.reference or "",
        department=row.department or "",
        description=row.description or "",
        lines=posted_lines(row, account_types),
        total_amount=decimal_to_pb(row.total_debit),
        reversal_of_id=str_or_empty(row.reversal_of_id),
        is_closing=row.is_closing,
    )


def journal_entry_reversed(
    original: JournalEntry, reversal: EntryData, reason: str, account_types: Mapping[str, str]
) -> ev.JournalEntryReversed:
    return ev.JournalEntryReversed(
        journal_entry_id=str(original.id),
        journal_number=original.journal_number,
        reversal_entry_id=str(reversal.id),
        reversal_journal_number=reversal.journal_number,
        reversal_date=date_to_pb(reversal.entry_date),
        source_service=original.source_service or "",
        source_id=str_or_empty(original.source_id),
        department=original.department or "",
        reason=reason,
        lines=posted_lines(reversal, account_types),
        total_amount=decimal_to_pb(reversal.total_debit),
    )


def account_created(row: Account) -> ev.AccountCreated:
    return ev.AccountCreated(
        account_id=str(row.id),
        account_code=row.account_code,
        account_name=row.account_name,
        account_type=ACCOUNT_TYPE_TO_PB[row.account_type],
        parent_account_code=row.parent_account_code or "",
        is_active=row.is_active,
    )


def account_updated(row: Account, changed: list[str]) -> ev.AccountUpdated:
    msg = ev.AccountUpdated(account_id=str(row.id), account_code=row.account_code, changed_fields=sorted(changed))
    if "account_name" in changed:
        msg.account_name = row.account_name
    if "parent_account_code" in changed:
        msg.parent_account_code = row.parent_account_code or ""
    if "is_active" in changed:
        msg.is_active = row.is_active
    return msg


def fiscal_period_closed(row: FiscalPeriod) -> ev.FiscalPeriodClosed:
    return ev.FiscalPeriodClosed(
        fiscal_period_id=str(row.id),
        fiscal_year=row.fiscal_year,
        period_number=row.period_number,
        start_date=date_to_pb(row.start_date),
        end_date=date_to_pb(row.end_date),
        closed_at=timestamp_to_pb(row.closed_at),
    )


def draft_of(row: JournalEntry) -> domain.Draft:
    """A posted entry as a draft (what a reversal mirrors)."""
    return domain.Draft(
        entry_date=row.entry_date,
        lines=tuple(
            domain.DraftLine(line.account_code, line.debit_amount, line.credit_amount, line.description)
            for line in row.lines
        ),
        description=row.description,
        reference=row.reference,
        department=row.department,
        source_service=row.source_service or domain.MANUAL,
        source_id=row.source_id,
    )
