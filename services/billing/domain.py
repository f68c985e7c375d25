"""Billing rules as plain Python: statuses, invoice arithmetic, settlement and credit rules. No I/O.

Money is Decimal throughout; amounts are rounded half-up to cents where a product is taken.
The aging buckets live in aging.py, field validation in validation.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.runtime import sequences
from services.runtime.errors import FailedPrecondition, InvalidArgument

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_LINE_VALUE = Decimal("99999999.99")  # NUMERIC(10, 2): quantity, unit price
MAX_AMOUNT = Decimal("9999999999.99")  # NUMERIC(12, 2): amounts, totals, balances


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"


class InvoiceStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


# Issued invoices with an amount that may still be due: they make up the customer's balance.
OPEN_STATUSES = frozenset({InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE})
# Open invoices that become OVERDUE once their due date has passed.
AGEABLE_STATUSES = frozenset({InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID})


# ---- invoice arithmetic --------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class PricedLine:
    line_number: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_amount: Decimal
    total_amount: Decimal


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Quantity times unit price, rounded half-up to cents."""
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def price_lines(lines: Sequence[LineInput]) -> list[PricedLine]:
    """Numbered from 1 in the given order, each with its amount."""
    return [
        PricedLine(i, line.description, line.quantity, line.unit_price, line_amount(line.quantity, line.unit_price))
        for i, line in enumerate(lines, start=1)
    ]


def invoice_totals(line_amounts: Iterable[Decimal], tax_amount: Decimal) -> Totals:
    """Subtotal = the sum of the line amounts; total = subtotal + tax."""
    subtotal = sum(line_amounts, ZERO)
    return Totals(subtotal=subtotal, tax_amount=tax_amount, total_amount=subtotal + tax_amount)


def amount_due(total: Decimal, paid: Decimal, credited: Decimal) -> Decimal:
    return total - paid - credited


def document_number(prefix: str, year: int, number: int) -> str:
    """Gap-free document numbers: INV-2025-000042, CN-2025-000007."""
    return sequences.format_number(prefix, year, number)


# ---- statuses ------------------------------------------------------------------------------------


def effective_status(status: str, due_date: date, today: date) -> InvoiceStatus:
    """What a reader sees: an open, unsettled invoice past its due date is OVERDUE at once,
    whether or not the overdue job has stored that status yet."""
    if status in AGEABLE_STATUSES and due_date < today:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus(status)


def is_overdue(status: str, due_date: date, as_of: date) -> bool:
    """The overdue job's rule: stored SENT/PARTIALLY_PAID and due before `as_of`."""
    return status in AGEABLE_STATUSES and due_date < as_of


def status_after_settlement(status: str, paid: Decimal, due: Decimal) -> InvoiceStatus:
    """The stored status after a payment or credit note: PAID when nothing is due any more,
    OVERDUE stays OVERDUE, otherwise PARTIALLY_PAID once money was received (a credit note
    alone is not a payment, so a SENT invoice with only a partial credit stays SENT)."""
    if due == 0:
        return InvoiceStatus.PAID
    if status == InvoiceStatus.OVERDUE:
        return InvoiceStatus.OVERDUE
    if paid > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus(status)


# ---- commands' preconditions ---------------------------------------------------------------------


def ensure_invoiceable(customer_status: str) -> None:
    """Only an active customer can be invoiced (suspended and inactive ones cannot)."""
    if customer_status != CustomerStatus.ACTIVE:
        raise FailedPrecondition(f"the customer is {customer_status} and cannot be invoiced")


def ensure_editable(status: str) -> None:
    if status != InvoiceStatus.PENDING:
        raise FailedPrecondition(f"only a pending (draft) invoice can be changed; this one is {status}")


def ensure_can_issue(
    status: str, customer_status: str, total: Decimal, balance: Decimal, credit_limit: Decimal
) -> None:
    """PENDING -> SENT, for an active customer, with something to bill, within the credit limit."""
    if status != InvoiceStatus.PENDING:
        raise FailedPrecondition(f"only a pending invoice can be issued; this one is {status}")
    ensure_invoiceable(customer_status)
    if total <= 0:
        raise FailedPrecondition("an invoice with a zero total cannot be issued")
    if balance + total > credit_limit:
        raise FailedPrecondition(
            f"issuing this invoice would take the customer's balance to {balance + total}, "
            f"over the credit limit of {credit_limit}"
        )


def ensure_can_cancel(status: str, paid: Decimal, credited: Decimal) -> bool:
    """Whether the invoice may be cancelled; returns True when it had been issued (posted), so
    accounting has to reverse it."""
    if status == InvoiceStatus.CANCELLED:
        raise FailedPrecondition("the invoice is already cancelled")
    if status == InvoiceStatus.PENDING:
        return False
    if paid > 0:
        raise FailedPrecondition("an invoice with payments cannot be cancelled; issue a credit note instead")
    if credited > 0:
        raise FailedPrecondition("an invoice with credit notes cannot be cancelled; credit the rest instead")
    if status not in OPEN_STATUSES:
        raise FailedPrecondition(f"a {status} invoice cannot be cancelled")
    return True


def ensure_settleable(status: str, what: str) -> None:
    """Payments and credit notes apply to issued, unsettled invoices only."""
    if status not in OPEN_STATUSES:
        raise FailedPrecondition(
            f"{what} can only be applied to a sent, partially paid or overdue invoice (it is {status})"
        )


def check_payment(amount: Decimal, due: Decimal, field: str = "amount") -> None:
    if amount <= 0:
        raise InvalidArgument.field(field, "must be greater than zero")
    if amount > due:
        raise InvalidArgument.field(field, f"exceeds the amount due ({due})")


def check_credit(amount: Decimal, tax: Decimal, due: Decimal, tax_still_creditable: Decimal) -> None:
    """A credit note: amount > 0, tax >= 0, amount + tax within the amount due, and no more tax
    credited in total than the invoice charged (accounting debits Sales Tax Payable with it)."""
    if amount + tax > due:
        raise InvalidArgument.field("amount", f"amount plus tax ({amount + tax}) exceeds the amount due ({due})")
    if tax > tax_still_creditable:
        raise InvalidArgument.field(
            "tax_amount", f"exceeds the invoice's tax not yet credited ({tax_still_creditable})"
        )
