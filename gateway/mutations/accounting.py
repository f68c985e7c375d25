"""Accounting commands: post and reverse journal entries, close fiscal periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.types.fiscal_period import FiscalPeriod
from gateway.types.journal_entry import JournalEntry
from services.runtime.convert import date_to_pb, decimal_to_pb


@strawberry.input(description="One line: exactly one of `debitAmount` and `creditAmount` is positive.")
class JournalEntryLineInput:
    account_code: str
    debit_amount: Decimal | None = None
    credit_amount: Decimal | None = None
    description: str | None = None


@strawberry.input(description="A manual entry: at least two lines, debits equal to credits, dated in an open period.")
class PostJournalEntryInput:
    entry_date: date
    lines: list[JournalEntryLineInput]
    description: str | None = None
    reference: str | None = None
    department: str | None = None


@strawberry.input
class ReverseJournalEntryInput:
    id: strawberry.ID
    reason: str
    reversal_date: date | None = strawberry.field(default=None, description="Today when omitted.")


@strawberry.type
class ReverseJournalEntryPayload:
    reversed_entry: JournalEntry = strawberry.field(description="The original entry, now REVERSED.")
    reversal_entry: JournalEntry = strawberry.field(description="The new mirror entry.")


def _line(line: JournalEntryLineInput) -> api.JournalEntryLineInput:
    return api.JournalEntryLineInput(
        account_code=line.account_code,
        description=line.description or "",
        debit_amount=decimal_to_pb(line.debit_amount),
        credit_amount=decimal_to_pb(line.credit_amount),
    )


def _entry(info: GatewayInfo, entry: pb.JournalEntry) -> JournalEntry:
    info.context.loaders.remember([entry], changed=True)
    return JournalEntry.from_proto(entry)


@strawberry.type
class AccountingMutations:
    @strawberry.mutation(description='Posts a balanced manual journal entry (source service "manual").')
    async def post_journal_entry(self, info: GatewayInfo, input: PostJournalEntryInput) -> JournalEntry | None:
        request = api.PostJournalEntryRequest(
            entry_date=date_to_pb(input.entry_date),
            description=input.description or "",
            reference=input.reference or "",
            department=input.department or "",
            lines=[_line(line) for line in input.lines],
        )
        response = await info.context.clients.accounting.call(lambda s: s.PostJournalEntry(request))
        return _entry(info, response.journal_entry)

    @strawberry.mutation(description="Reverses a POSTED entry with a mirror entry.")
    async def reverse_journal_entry(
        self, info: GatewayInfo, input: ReverseJournalEntryInput
    ) -> ReverseJournalEntryPayload | None:
        request = api.ReverseJournalEntryRequest(
            id=input.id, reason=input.reason, reversal_date=date_to_pb(input.reversal_date)
        )
        response = await info.context.clients.accounting.call(lambda s: s.ReverseJournalEntry(request))
        return ReverseJournalEntryPayload(
            reversed_entry=_entry(info, response.reversed_entry), reversal_entry=_entry(info, response.reversal_entry)
        )

    @strawberry.mutation(description="Closes an OPEN fiscal period: no more entries may be dated in it.")
    async def close_fiscal_period(self, info: GatewayInfo, id: strawberry.ID) -> FiscalPeriod | None:
        request = api.CloseFiscalPeriodRequest(id=id)
        response = await info.context.clients.accounting.call(lambda s: s.CloseFiscalPeriod(request))
        return FiscalPeriod.from_proto(response.fiscal_period)
