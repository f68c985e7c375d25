"""Postings requested by other services' events.

Each source event becomes a `PostingRequest` (a small function per event type: which accounts,
which amounts, which idempotency key); `request_posting` does the rest, the same way for all:
post through posting.post_entry inside a savepoint and answer with JournalEntryPosted, or,
when the posting is impossible for a business reason (closed period, inactive or unknown
account, amounts that do not balance), roll the savepoint back and answer with
JournalEntryRejected instead of raising, so the requesting saga sees an explicit failure.
A repeated business request (same posting key, new event id) posts nothing new and answers
JournalEntryPosted again for the existing entry. An event with no ledger effect (a zero value)
raises `NothingToPost` from its draft: nothing is recorded and the result says why.

The payroll postings are here; billing, procurement and inventory have modules of their own
(handlers_billing.py, handlers_procurement.py, handlers_inventory.py) built on the same pieces.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from erp.accounting.v1 import events_pb2 as ev
from erp.payroll.v1 import events_pb2 as payroll_ev
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.accounting import chart, domain
from services.accounting.posting import Posting, post_entry
from services.accounting.posting_batch import post_many
from services.runtime.clock import Clock
from services.runtime.consumer import DEFER, BatchedHandler, Deferred, Handler, Result
from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str
from services.runtime.db import UnitOfWork
from services.runtime.errors import DomainError
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

PAYROLL_PROCESSED = "erp.payroll.v1.PayrollProcessed"
PAYROLL_PAID = "erp.payroll.v1.PayrollPaid"


@dataclass(frozen=True)
class PostingRequest:
    """What an event asks for: its source object, its reference, and how to build the entry
    (`draft` may raise a DomainError for malformed amounts: that is a rejection too)."""

    source_id: str
    reference: str
    draft: Callable[[], domain.Draft]


class NothingToPost(Exception):
    """Raised while building a draft when the event has no ledger effect (e.g. a zero value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def request_posting(
    uow: UnitOfWork, event: ReceivedEvent, request: PostingRequest, clock: Clock
) -> dict[str, Any]:
    async def post() -> Posting:
        return await post_entry(uow, request.draft(), now=clock.now())

    return await answer_request(uow, event, request.source_id, request.reference, post)


async def answer_request(
    uow: UnitOfWork,
    event: ReceivedEvent,
    source_id: str,
    reference: str,
    post: Callable[[], Awaitable[Posting]],
) -> dict[str, Any]:
    """Run `post` in a savepoint: its posting, or JournalEntryRejected for a DomainError (the
    savepoint undone), or nothing for NothingToPost. `post` records its events last, after
    every check, so a rolled-back savepoint never leaves an event behind."""
    try:
        async with uow.session.begin_nested():
            posting = await post()
    except NothingToPost as exc:
        return {"skipped": exc.reason, "reference": reference}
    except DomainError as exc:
        uow.record(
            ev.JournalEntryRejected(
                source_service=event.source_service,
                source_id=source_id,
                reason=exc.message,
                request_event_type=event.event_type,
                request_event_id=str(event.event_id),
                reference=reference,
            ),
            aggregate_type="PostingRequest",
            aggregate_id=_request_aggregate(source_id, event),
        )
        return {"rejected": exc.message, "reference": reference}
    return posted(posting)


def posted(posting: Posting) -> dict[str, Any]:
    return {
        "journal_entry_id": str(posting.entry.id),
        "journal_number": posting.entry.journal_number,
        "duplicate": posting.duplicate,
    }


def _request_aggregate(source_id: str, event: ReceivedEvent) -> uuid.UUID:
    try:
        return uuid.UUID(source_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{event.event_type}:{event.event_id}")


def posting_handler(build: Callable[[Any], PostingRequest], clock: Clock) -> BatchedHandler:
    """One request posted as above; a consumer's run of them posted together (posting_batch),
    every request that is not plain left to the one-request form."""

    async def one(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        return await request_posting(uow, event, build(event.message), clock)

    async def many(items: Sequence[tuple[UnitOfWork, ReceivedEvent]]) -> list[Result | Deferred]:
        drafts = [_draft_or_none(build(event.message)) for _, event in items]
        postings = await post_many([(uow, d) for (uow, _), d in zip(items, drafts, strict=True)], now=clock.now())
        return [DEFER if p is None else posted(p) for p in postings]

    return BatchedHandler(one, many)


def _draft_or_none(request: PostingRequest) -> domain.Draft | None:
    """The request's draft, or None when building it fails (the one-request form answers that)."""
    try:
        return request.draft()
    except (NothingToPost, DomainError):
        return None


def money(value: PbDecimal, field: str, *, required: bool = True) -> Decimal:
    parsed = money_from_pb(value, field, required=required)
    return parsed if parsed is not None else domain.ZERO


def nonzero_lines(*lines: domain.DraftLine) -> tuple[domain.DraftLine, ...]:
    """Zero amounts are left out (no withholding, say); what is left must still balance."""
    return tuple(line for line in lines if line.debit != 0 or line.credit != 0)


# ---- payroll ------------------------------------------------------------------------------------


def payroll_expense(msg: payroll_ev.PayrollProcessed) -> PostingRequest:
    """Dr Salary Expense (gross) = Cr Payroll Tax Withholdings (taxes + deductions) + Cr Salary Payable (net)."""
    key = f"payroll.expense:{msg.payroll_record_id}"

    def draft() -> domain.Draft:
        record_id = uuid_from_str(msg.payroll_record_id, "payroll_record_id")
        end = date_from_pb(msg.pay_period_end, "pay_period_end")
        start = date_from_pb(msg.pay_period_start, "pay_period_start", required=False)
        assert end is not None
        gross = money(msg.gross_pay, "gross_pay")
        withheld = sum(
            (
                money(msg.federal_tax, "federal_tax", required=False),
                money(msg.state_tax, "state_tax", required=False),
                money(msg.social_security_tax, "social_security_tax", required=False),
                money(msg.medicare_tax, "medicare_tax", required=False),
                money(msg.deductions, "deductions", required=False),
            ),
            domain.ZERO,
        )
        net = money(msg.net_pay, "net_pay")
        period = f"{start.isoformat() if start else '?'} to {end.isoformat()}"
        name = msg.employee_name or msg.employee_id
        return domain.Draft(
            entry_date=end,
            lines=nonzero_lines(
                domain.DraftLine(chart.SALARY_EXPENSE, debit=gross, description=f"Gross pay, {name}"),
                domain.DraftLine(chart.PAYROLL_TAX_WITHHOLDINGS, credit=withheld, description="Taxes and deductions"),
                domain.DraftLine(chart.SALARY_PAYABLE, credit=net, description=f"Net pay owed, {name}"),
            ),
            description=f"Payroll expense, {name}, {period}"[:2000],
            reference=key,
            department=msg.department or None,
            source_service="payroll",
            source_id=record_id,
            posting_key=key,
        )

    return PostingRequest(msg.payroll_record_id, key, draft)


def payroll_payment(msg: payroll_ev.PayrollPaid) -> PostingRequest:
    """Dr Salary Payable = Cr Cash (net pay)."""
    key = f"payroll.payment:{msg.payroll_record_id}"

    def draft() -> domain.Draft:
        record_id = uuid_from_str(msg.payroll_record_id, "payroll_record_id")
        paid_on = date_from_pb(msg.pay_date, "pay_date")
        assert paid_on is not None
        net = money(msg.net_pay, "net_pay")
        return domain.Draft(
            entry_date=paid_on,
            lines=nonzero_lines(
                domain.DraftLine(chart.SALARY_PAYABLE, debit=net, description="Net pay settled"),
                domain.DraftLine(chart.CASH, credit=net, description="Salary payment"),
            ),
            description=f"Payroll payment, record {msg.payroll_record_id}",
            reference=key,
            department=msg.department or None,
            source_service="payroll",
            source_id=record_id,
            posting_key=key,
        )

    return PostingRequest(msg.payroll_record_id, key, draft)


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {
        PAYROLL_PROCESSED: posting_handler(payroll_expense, deps.clock),
        PAYROLL_PAID: posting_handler(payroll_payment, deps.clock),
    }
