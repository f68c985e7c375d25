"""AccountingService, journal: post, reverse, get, batch get and list journal entries."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from erp.accounting.v1 import accounting_service_pb2 as api
from google.type.decimal_pb2 import Decimal as PbDecimal
from sqlalchemy import select

from services.accounting import domain, mapping
from services.accounting.api_base import ApiBase, caller_id, check_range, text_arg
from services.accounting.posting import post_entry
from services.accounting.tables import JournalEntry, JournalEntryLine
from services.runtime.convert import date_from_pb, decimal_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, list_page


def _amount(v: Validator, value: PbDecimal, field: str) -> Decimal:
    parsed = v.collect(lambda: decimal_from_pb(value, field, required=False))
    return parsed if parsed is not None else domain.ZERO


def parse_lines(v: Validator, lines: Any) -> list[domain.DraftLine]:
    return [
        domain.DraftLine(
            account_code=line.account_code.strip(),
            debit=_amount(v, line.debit_amount, f"lines[{i}].debit_amount"),
            credit=_amount(v, line.credit_amount, f"lines[{i}].credit_amount"),
            description=line.description or None,
        )
        for i, line in enumerate(lines)
    ]


class JournalApi(ApiBase):
    async def PostJournalEntry(
        self, request: api.PostJournalEntryRequest, context_: Any
    ) -> api.PostJournalEntryResponse:
        v = Validator()
        entry_date = v.collect(lambda: date_from_pb(request.entry_date, "entry_date"))
        lines = parse_lines(v, request.lines)
        description = request.description.strip() or None
        reference = request.reference.strip() or None
        department = request.department.strip() or None
        domain.validate_entry_fields(v, lines, description, reference, department)
        v.raise_if_any()
        assert entry_date is not None
        draft = domain.Draft(
            entry_date=entry_date,
            lines=tuple(lines),
            description=description,
            reference=reference,
            department=department,
            posted_by=caller_id(),
        )
        async with self.db.unit_of_work() as uow:
            posting = await post_entry(uow, draft, now=self.clock.now())
        return api.PostJournalEntryResponse(journal_entry=mapping.entry_to_pb(posting.entry))

    async def ReverseJournalEntry(
        self, request: api.ReverseJournalEntryRequest, context_: Any
    ) -> api.ReverseJournalEntryResponse:
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.id, "id"))
        reversal_date = v.collect(lambda: self.date_or_today(request.reversal_date, "reversal_date"))
        reason = request.reason.strip()
        v.require(reason, "reason")
        v.max_len(reason, "reason", 500)
        v.raise_if_any()
        assert key is not None and reversal_date is not None
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            original = await get_or_404(uow.session, JournalEntry, key, "journal entry", lock=True)
            domain.ensure_can_reverse(original.status, original.journal_number, is_closing=original.is_closing)
            if reversal_date < original.entry_date:
                raise InvalidArgument.field("reversal_date", "must be on or after the entry date of the original")
            draft = domain.reversal_draft(
                mapping.draft_of(original), original.id, reversal_date, reason, original.journal_number
            )
            posting = await post_entry(uow, replace(draft, posted_by=caller_id()), now=now)
            original.status = domain.EntryStatus.REVERSED.value
            original.reversed_by_id = posting.entry.id
            original.updated_at = now
            uow.record(
                mapping.journal_entry_reversed(original, posting.entry, reason, posting.account_types),
                aggregate_type="JournalEntry",
                aggregate_id=original.id,
            )
        return api.ReverseJournalEntryResponse(
            reversed_entry=mapping.entry_to_pb(original), reversal_entry=mapping.entry_to_pb(posting.entry)
        )

    async def GetJournalEntry(self, request: api.GetJournalEntryRequest, context_: Any) -> api.GetJournalEntryResponse:
        key = uuid_from_str(request.id, "id")
        async with self.db.read() as s:
            row = await get_or_404(s, JournalEntry, key, "journal entry")  # type: ignore[arg-type]
        return api.GetJournalEntryResponse(journal_entry=mapping.entry_to_pb(row))

    async def BatchGetJournalEntries(
        self, request: api.BatchGetJournalEntriesRequest, context_: Any
    ) -> api.BatchGetJournalEntriesResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, JournalEntry, keys)
        return api.BatchGetJournalEntriesResponse(journal_entries=[mapping.entry_to_pb(r) for r in rows])

    async def ListJournalEntries(
        self, request: api.ListJournalEntriesRequest, context_: Any
    ) -> api.ListJournalEntriesResponse:
        v = Validator()
        source_id = v.collect(lambda: uuid_from_str(request.source_id, "source_id", required=False))
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date", required=False))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date", required=False))
        v.check(
            all(s in mapping.ENTRY_STATUS_FROM_PB for s in request.statuses), "statuses", "contains an unknown status"
        )
        account_code = text_arg(v, request.account_code, "account_code", 20)
        source_service = text_arg(v, request.source_service, "source_service", 50)
        department = text_arg(v, request.department, "department", 100)
        v.raise_if_any()
        check_range(start, end)
        stmt = select(JournalEntry)
        if account_code:
            on_account = select(JournalEntryLine.journal_entry_id).where(JournalEntryLine.account_code == account_code)
            stmt = stmt.where(JournalEntry.id.in_(on_account))
        if source_service:
            stmt = stmt.where(JournalEntry.source_service == source_service)
        if source_id is not None:
            stmt = stmt.where(JournalEntry.source_id == source_id)
        if start is not None:
            stmt = stmt.where(JournalEntry.entry_date >= start)
        if end is not None:
            stmt = stmt.where(JournalEntry.entry_date <= end)
        if request.statuses:
            stmt = stmt.where(JournalEntry.status.in_([mapping.ENTRY_STATUS_FROM_PB[s] for s in request.statuses]))
        if department:
            stmt = stmt.where(JournalEntry.department == department)
        filters = (
            account_code,
            source_service,
            str(source_id),
            str(start),
            str(end),
            sorted(request.statuses),
            department,
        )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [JournalEntry.entry_date, JournalEntry.journal_number],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
        return api.ListJournalEntriesResponse(
            journal_entries=[mapping.entry_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
