"""Billing rules without I/O: arithmetic, statuses, preconditions, aging buckets, validation, config."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.billing import aging, domain
from services.billing.config import BillingConfig
from services.billing.domain import CustomerStatus as C
from services.billing.domain import InvoiceStatus as S
from services.billing.validation import check_totals, validate_customer_fields, validate_line
from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator

D = Decimal
AS_OF = date(2025, 6, 16)


@pytest.mark.parametrize(
    ("quantity", "price", "amount"),
    [
        ("1", "100.00", "100.00"),
        ("1.25", "0.99", "1.24"),  # 1.2375
        ("0.50", "0.05", "0.03"),  # 0.025: half-up, where half-even would give 0.02
        ("0.50", "0.01", "0.01"),  # 0.005
        ("0.10", "0.04", "0.00"),  # 0.004
        ("3", "1999.99", "5999.97"),
        ("99999999.99", "0.00", "0.00"),
    ],
)
def test_line_amount_rounds_half_up_to_cents(quantity: str, price: str, amount: str) -> None:
    assert domain.line_amount(D(quantity), D(price)) == D(amount)


def test_price_lines_and_totals() -> None:
    lines = domain.price_lines([domain.LineInput("a", D("2"), D("10.00")), domain.LineInput("b", D("1.5"), D("0.33"))])
    assert [(x.line_number, x.amount) for x in lines] == [(1, D("20.00")), (2, D("0.50"))]
    totals = domain.invoice_totals((x.amount for x in lines), D("4.10"))
    assert totals == domain.Totals(D("20.50"), D("4.10"), D("24.60"))
    assert domain.invoice_totals([], D("0.00")).total_amount == D("0.00")


def test_document_numbers() -> None:
    assert domain.document_number("INV", 2025, 42) == "INV-2025-000042"
    assert domain.document_number("CN", 2031, 1) == "CN-2031-000001"


@pytest.mark.parametrize(
    ("status", "due", "expected"),
    [
        (S.SENT, AS_OF - timedelta(days=1), S.OVERDUE),
        (S.PARTIALLY_PAID, AS_OF - timedelta(days=1), S.OVERDUE),
        (S.SENT, AS_OF, S.SENT),  # due today is not late yet
        (S.PENDING, AS_OF - timedelta(days=9), S.PENDING),  # a draft is never overdue
        (S.PAID, AS_OF - timedelta(days=9), S.PAID),
        (S.CANCELLED, AS_OF - timedelta(days=9), S.CANCELLED),
        (S.OVERDUE, AS_OF + timedelta(days=9), S.OVERDUE),
    ],
)
def test_effective_status(status: S, due: date, expected: S) -> None:
    assert domain.effective_status(status, due, AS_OF) == expected
    assert domain.is_overdue(status, due, AS_OF) == (expected == S.OVERDUE and status != S.OVERDUE)


@pytest.mark.parametrize(
    ("status", "paid", "due", "expected"),
    [
        (S.SENT, "10", "90", S.PARTIALLY_PAID),
        (S.SENT, "0", "90", S.SENT),  # a partial credit note alone
        (S.SENT, "100", "0", S.PAID),
        (S.SENT, "0", "0", S.PAID),  # credited in full
        (S.PARTIALLY_PAID, "50", "50", S.PARTIALLY_PAID),
        (S.OVERDUE, "50", "50", S.OVERDUE),
        (S.OVERDUE, "100", "0", S.PAID),
    ],
)
def test_status_after_settlement(status: S, paid: str, due: str, expected: S) -> None:
    assert domain.status_after_settlement(status, D(paid), D(due)) == expected


def test_issue_preconditions() -> None:
    domain.ensure_can_issue(S.PENDING, C.ACTIVE, D("100"), D("900"), D("1000"))  # exactly at the limit
    with pytest.raises(FailedPrecondition, match="credit limit"):
        domain.ensure_can_issue(S.PENDING, C.ACTIVE, D("100.01"), D("900"), D("1000"))
    with pytest.raises(FailedPrecondition, match="credit limit"):
        domain.ensure_can_issue(S.PENDING, C.ACTIVE, D("1"), D("0"), D("0"))
    for status in (C.SUSPENDED, C.INACTIVE):
        with pytest.raises(FailedPrecondition, match="cannot be invoiced"):
            domain.ensure_can_issue(S.PENDING, status, D("1"), D("0"), D("10"))
    with pytest.raises(FailedPrecondition, match="pending"):
        domain.ensure_can_issue(S.SENT, C.ACTIVE, D("1"), D("0"), D("10"))
    with pytest.raises(FailedPrecondition, match="zero total"):
        domain.ensure_can_issue(S.PENDING, C.ACTIVE, D("0"), D("0"), D("10"))


def test_cancel_rules() -> None:
    assert domain.ensure_can_cancel(S.PENDING, D("0"), D("0")) is False  # nothing to reverse
    assert domain.ensure_can_cancel(S.SENT, D("0"), D("0")) is True
    assert domain.ensure_can_cancel(S.OVERDUE, D("0"), D("0")) is True
    for status, paid, credited in [
        (S.PARTIALLY_PAID, "1", "0"),
        (S.SENT, "0", "5"),
        (S.PAID, "0", "110"),
        (S.CANCELLED, "0", "0"),
    ]:
        with pytest.raises(FailedPrecondition):
            domain.ensure_can_cancel(status, D(paid), D(credited))


def test_edit_and_settle_preconditions() -> None:
    domain.ensure_editable(S.PENDING)
    with pytest.raises(FailedPrecondition):
        domain.ensure_editable(S.SENT)
    for status in (S.SENT, S.PARTIALLY_PAID, S.OVERDUE):
        domain.ensure_settleable(status, "a payment")
    for status in (S.PENDING, S.PAID, S.CANCELLED):
        with pytest.raises(FailedPrecondition):
            domain.ensure_settleable(status, "a payment")


def test_payment_and_credit_amounts() -> None:
    domain.check_payment(D("50.00"), D("50.00"))
    for amount in ("0", "-1", "50.01"):
        with pytest.raises(InvalidArgument) as info:
            domain.check_payment(D(amount), D("50.00"))
        assert [v.field for v in info.value.violations] == ["amount"]
    domain.check_credit(D("40"), D("10"), D("50"), D("10"))
    with pytest.raises(InvalidArgument, match="amount"):
        domain.check_credit(D("41"), D("10"), D("50"), D("10"))
    with pytest.raises(InvalidArgument) as info:
        domain.check_credit(D("1"), D("10.01"), D("50"), D("10"))
    assert [v.field for v in info.value.violations] == ["tax_amount"]


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [
        (-10, aging.Bucket.CURRENT),
        (0, aging.Bucket.CURRENT),
        (1, aging.Bucket.DAYS_1_TO_30),
        (30, aging.Bucket.DAYS_1_TO_30),
        (31, aging.Bucket.DAYS_31_TO_60),
        (60, aging.Bucket.DAYS_31_TO_60),
        (61, aging.Bucket.DAYS_61_TO_90),
        (90, aging.Bucket.DAYS_61_TO_90),
        (91, aging.Bucket.DAYS_OVER_90),
        (400, aging.Bucket.DAYS_OVER_90),
    ],
)
def test_aging_bucket_boundaries(days_late: int, bucket: aging.Bucket) -> None:
    assert aging.bucket_for(AS_OF - timedelta(days=days_late), AS_OF) == bucket


def test_age_groups_by_customer_ordered_by_name() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    items = [
        aging.OpenItem(b, "Zed", AS_OF, D("10.00")),
        aging.OpenItem(a, "Able", AS_OF - timedelta(days=45), D("20.00"), invoice_count=2),
        aging.OpenItem(a, "Able", AS_OF - timedelta(days=100), D("0.01")),
        aging.OpenItem(a, "Able", AS_OF - timedelta(days=5), D("0.00")),  # nothing due: left out
    ]
    result = aging.age(items, AS_OF)
    assert [(r.customer_name, r.invoice_count) for r in result.rows] == [("Able", 3), ("Zed", 1)]
    able = result.rows[0].buckets
    assert able.amounts[aging.Bucket.DAYS_31_TO_60] == D("20.00")
    assert able.amounts[aging.Bucket.DAYS_OVER_90] == D("0.01")
    assert able.total == D("20.01")
    assert result.totals.total == D("30.01")
    assert result.totals.amounts[aging.Bucket.CURRENT] == D("10.00")


def test_line_and_customer_validation() -> None:
    v = Validator()
    assert validate_line(v, "lines[0].", "ok", D("1"), D("2.50")) == domain.LineInput("ok", D("1"), D("2.50"))
    assert validate_line(v, "lines[1].", " ", D("0"), D("-1")) is None
    assert validate_line(v, "lines[2].", "big", D("99999999.99"), D("99999999.99")) is None
    assert [x.field for x in v.violations] == [
        "lines[1].description",
        "lines[1].quantity",
        "lines[1].unit_price",
        "lines[2].unit_price",
    ]
    v = Validator()
    validate_customer_fields(v, {"name": "", "email": "x", "zip_code": "1" * 21, "credit_limit": D("-1")})
    assert sorted(x.field for x in v.violations) == ["credit_limit", "email", "name", "zip_code"]
    v = Validator()
    check_totals(v, domain.Totals(D("9999999999.99"), D("0.01"), D("10000000000.00")), "lines", "tax_amount")
    assert [x.field for x in v.violations] == ["tax_amount"]


def test_config_from_env() -> None:
    assert BillingConfig.from_env({}) == BillingConfig(overdue_interval_s=60.0, summary_min_interval_s=0.2)
    config = BillingConfig.from_env(
        {"ERP_BILLING_OVERDUE_INTERVAL_MS": "1500", "ERP_BILLING_SUMMARY_MIN_INTERVAL_MS": "50"}
    )
    assert (config.overdue_interval_s, config.summary_min_interval_s) == (1.5, 0.05)
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="ERP_BILLING_OVERDUE_INTERVAL_MS"):
            BillingConfig.from_env({"ERP_BILLING_OVERDUE_INTERVAL_MS": bad})
