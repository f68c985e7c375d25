"""Accounts-receivable aging: amounts due split by days past due. Plain Python, no I/O.

Buckets: current (not yet due, including the due date itself), 1-30, 31-60, 61-90 and over 90
days past due, measured at an as-of date.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.billing.domain import ZERO


class Bucket(StrEnum):
    CURRENT = "current"
    DAYS_1_TO_30 = "days_1_to_30"
    DAYS_31_TO_60 = "days_31_to_60"
    DAYS_61_TO_90 = "days_61_to_90"
    DAYS_OVER_90 = "days_over_90"


def days_past_due(due_date: date, as_of: date) -> int:
    return (as_of - due_date).days


def bucket_for(due_date: date, as_of: date) -> Bucket:
    days = days_past_due(due_date, as_of)
    if days <= 0:
        return Bucket.CURRENT
    if days <= 30:
        return Bucket.DAYS_1_TO_30
    if days <= 60:
        return Bucket.DAYS_31_TO_60
    if days <= 90:
        return Bucket.DAYS_61_TO_90
    return Bucket.DAYS_OVER_90


@dataclass
class Buckets:
    amounts: dict[Bucket, Decimal] = field(default_factory=lambda: dict.fromkeys(Bucket, ZERO))

    def add(self, bucket: Bucket, amount: Decimal) -> None:
        self.amounts[bucket] += amount

    def merge(self, other: Buckets) -> None:
        for bucket, amount in other.amounts.items():
            self.amounts[bucket] += amount

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


@dataclass(frozen=True)
class OpenItem:
    """Amount due on the invoices of one customer that share a due date (or one invoice)."""

    customer_id: uuid.UUID
    customer_name: str
    due_date: date
    amount_due: Decimal
    invoice_count: int = 1


@dataclass
class CustomerAging:
    customer_id: uuid.UUID
    customer_name: str
    invoice_count: int = 0
    buckets: Buckets = field(default_factory=Buckets)


@dataclass
class AgingResult:
    as_of: date
    rows: list[CustomerAging]
    totals: Buckets


def age(items: Iterable[OpenItem], as_of: date) -> AgingResult:
    """One row per customer with an amount due, ordered by customer name (then id), plus totals."""
    by_customer: dict[uuid.UUID, CustomerAging] = {}
    totals = Buckets()
    for item in items:
        if item.amount_due <= 0:
            continue
        row = by_customer.setdefault(item.customer_id, CustomerAging(item.customer_id, item.customer_name))
        bucket = bucket_for(item.due_date, as_of)
        row.buckets.add(bucket, item.amount_due)
        row.invoice_count += item.invoice_count
        totals.add(bucket, item.amount_due)
    rows = sorted(by_customer.values(), key=lambda r: (r.customer_name, str(r.customer_id)))
    return AgingResult(as_of=as_of, rows=rows, totals=totals)
