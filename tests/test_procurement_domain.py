"""Procurement rules without a database: money, lifecycle, approval, receipts, vendor metrics,
configuration and the auto-reorder draft."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from itertools import pairwise, product

import pytest
from erp.inventory.v1 import events_pb2 as inventory_ev
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.procurement import domain, performance, pricing, receiving
from services.procurement.config import DEFAULT_APPROVAL_THRESHOLD, ProcurementConfig
from services.procurement.domain import OrderStatus
from services.procurement.handlers import reorder_draft
from services.procurement.performance import Delta, Metrics
from services.procurement.pricing import LineInput
from services.procurement.receiving import LineState, ReceiptLineInput
from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator

D = Decimal


# ---- pricing -----------------------------------------------------------------------------------


def test_amounts_are_half_up_cents_and_totals_add_up() -> None:
    assert pricing.cents(D("0.005")) == D("0.01")
    assert pricing.cents(D("2.675")) == D("2.68")
    assert pricing.cents(D("-0.005")) == D("-0.01")
    assert pricing.line_amount(3, D("19.99")) == D("59.97")
    lines = [LineInput("A", "a", 3, D("19.99")), LineInput("B", "b", 7, D("0.15"))]
    totals = pricing.order_totals(lines, D("4.88"), D("10"))
    assert totals == pricing.Totals(D("61.02"), D("4.88"), D("10.00"), D("75.90"))
    assert str(totals.total_amount) == "75.90"


def test_line_validation_reports_each_field() -> None:
    v = Validator()
    pricing.validate_line(v, " ", "", 0, D("-1"), "items[0].")
    assert {f.field for f in v.violations} == {
        "items[0].sku",
        "items[0].description",
        "items[0].quantity",
        "items[0].unit_price",
    }
    v = Validator()
    pricing.validate_line(v, "S", "d", 1_000_000, D("99999999.99"), "")
    assert [f.field for f in v.violations] == ["quantity"]  # the amount would not fit NUMERIC(12, 2)
    v = Validator()
    pricing.validate_lines_count(v, 0, "items")
    pricing.validate_charges(v, D("-1"), D("100000000"))
    assert [f.field for f in v.violations] == ["items", "tax_amount", "shipping_cost"]


def test_charge_shares_add_up_exactly_over_receipts() -> None:
    subtotal, tax = D("30.00"), D("10.00")
    accepted = [D("0"), D("10.00"), D("20.00"), D("30.00")]
    shares = [
        pricing.attributable_share(tax, before, after, subtotal, after == subtotal)
        for before, after in pairwise(accepted)
    ]
    assert shares == [D("3.33"), D("3.34"), D("3.33")] and sum(shares) == tax
    # Rejected goods carry no share; a zero-value order puts the whole charge on its last receipt.
    assert pricing.attributable_share(tax, D("0"), D("15.00"), subtotal, True) == D("5.00")
    assert pricing.attributable_share(tax, D("0"), D("0"), D("0"), False) == D("0.00")
    assert pricing.attributable_share(tax, D("0"), D("0"), D("0"), True) == D("10.00")


# ---- lifecycle and approval --------------------------------------------------------------------


ORDER = [
    OrderStatus.PENDING,
    OrderStatus.APPROVED,
    OrderStatus.ORDERED,
    OrderStatus.PARTIALLY_RECEIVED,
    OrderStatus.RECEIVED,
]


def test_the_lifecycle_never_goes_backwards() -> None:
    for current, target in product(ORDER, ORDER):
        allowed = target in domain.TRANSITIONS[current]
        if ORDER.index(target) <= ORDER.index(current) and not (current == target == OrderStatus.PARTIALLY_RECEIVED):
            assert not allowed, (current, target)
    for final in (OrderStatus.RECEIVED, OrderStatus.CANCELLED):
        for target in OrderStatus:
            with pytest.raises(FailedPrecondition):
                domain.ensure_transition(final, target, "change")
    domain.ensure_transition("pending", OrderStatus.APPROVED, "approve")
    with pytest.raises(FailedPrecondition, match="cannot mark as ordered a purchase order that is pending"):
        domain.ensure_transition("pending", OrderStatus.ORDERED, "mark as ordered")


def test_cancel_only_before_any_receipt() -> None:
    for status in ("pending", "approved", "ordered"):
        domain.ensure_can_cancel(status)
    for status in ("partially_received", "received", "cancelled"):
        with pytest.raises(FailedPrecondition):
            domain.ensure_can_cancel(status)


def test_updates_while_pending_then_only_date_and_notes() -> None:
    domain.ensure_can_update("pending", ["items", "vendor_id"])
    for status in ("approved", "ordered", "partially_received"):
        domain.ensure_can_update(status, ["notes", "expected_delivery_date"])
        with pytest.raises(FailedPrecondition):
            domain.ensure_can_update(status, ["notes", "items"])
    for status in ("received", "cancelled"):
        with pytest.raises(FailedPrecondition):
            domain.ensure_can_update(status, ["notes"])


def test_separation_of_duties() -> None:
    creator, other = uuid.uuid4(), uuid.uuid4()
    limit = D("10000.00")
    domain.ensure_approver(D("10000.00"), limit, creator, creator)  # at the threshold: the creator may
    domain.ensure_approver(D("5.00"), limit, creator, None)
    domain.ensure_approver(D("10000.01"), limit, creator, other)
    domain.ensure_approver(D("10000.01"), limit, None, other)  # system-created
    with pytest.raises(FailedPrecondition, match="separation of duties"):
        domain.ensure_approver(D("10000.01"), limit, creator, creator)
    with pytest.raises(FailedPrecondition, match="separation of duties"):
        domain.ensure_approver(D("10000.01"), limit, creator, None)


def test_vendor_rules() -> None:
    v = Validator()
    domain.validate_vendor_fields(v, {"name": " ", "email": "x@", "rating": D("5.01"), "zip_code": "1" * 21})
    assert {f.field for f in v.violations} == {"name", "email", "rating", "zip_code"}
    v = Validator()
    domain.validate_vendor_fields(v, {"name": "Acme", "email": "a@b.co", "rating": D("0")})
    assert v.violations == []
    domain.ensure_vendor_takes_orders("active")
    for status in ("suspended", "inactive"):
        with pytest.raises(FailedPrecondition, match=status):
            domain.ensure_vendor_takes_orders(status)
    assert domain.normalize_email(" A@B.Co ") == "a@b.co"
    assert domain.cancellation_notes(None, "why") == "Cancelled: why"
    assert domain.cancellation_notes("n", "why") == "n\nCancelled: why"


# ---- receipts ----------------------------------------------------------------------------------

A, B = uuid.uuid4(), uuid.uuid4()
LINES = [
    LineState(A, 1, "SKU-A", 10, D("2.50"), 0, 0),
    LineState(B, 2, "SKU-B", 4, D("10.00"), 1, 1),
]


def test_a_partial_receipt() -> None:
    r = receiving.apply_receipt(
        LINES, [ReceiptLineInput(A, 6, 1)], subtotal=D("65.00"), tax_amount=D("6.50"), shipping_cost=D("0")
    )
    assert r.status == OrderStatus.PARTIALLY_RECEIVED and not r.fully_received
    assert r.new_quantities == {A: (6, 1), B: (1, 1)}
    assert [(li.sku, li.quantity_received, li.quantity_rejected, li.amount) for li in r.lines] == [
        ("SKU-A", 6, 1, D("15.00"))
    ]
    assert (r.amount, r.tax_amount, r.shipping_cost, r.has_rejections) == (D("15.00"), D("1.50"), D("0.00"), True)


def test_the_completing_receipt() -> None:
    r = receiving.apply_receipt(
        LINES,
        [ReceiptLineInput(B, 2, 0), ReceiptLineInput(A, 10, 0)],
        subtotal=D("65.00"),
        tax_amount=D("0"),
        shipping_cost=D("0"),
    )
    assert r.status == OrderStatus.RECEIVED and r.fully_received
    assert [li.sku for li in r.lines] == ["SKU-A", "SKU-B"]  # line order
    assert (r.amount, r.quantity_received, r.quantity_rejected) == (D("45.00"), 12, 0)


def test_over_receipt_and_unknown_lines_are_all_reported() -> None:
    with pytest.raises(InvalidArgument) as info:
        receiving.apply_receipt(
            LINES,
            [ReceiptLineInput(A, 10, 1), ReceiptLineInput(uuid.uuid4(), 1, 0), ReceiptLineInput(B, 3, 0)],
            subtotal=D("65.00"),
            tax_amount=D("0"),
            shipping_cost=D("0"),
        )
    assert [v.field for v in info.value.violations] == [
        "lines[0].quantity_received",
        "lines[1].purchase_order_item_id",
        "lines[2].quantity_received",
    ]


def test_receipt_shape_and_dates() -> None:
    v = Validator()
    receiving.validate_inputs(v, [ReceiptLineInput(A, 0, 0), ReceiptLineInput(A, -1, 0), ReceiptLineInput(B, 0, -2)])
    assert [f.field for f in v.violations] == [
        "lines[0].quantity_received",
        "lines[1].quantity_received",
        "lines[1].purchase_order_item_id",
        "lines[2].quantity_rejected",
    ]
    v = Validator()
    receiving.validate_inputs(v, [])
    assert [f.field for f in v.violations] == ["lines"]
    today = date(2024, 6, 1)
    receiving.check_receipt_date(date(2024, 3, 1), date(2024, 3, 1), None, today)
    for bad, last in ((date(2024, 2, 29), None), (date(2024, 6, 2), None), (date(2024, 3, 5), date(2024, 3, 6))):
        with pytest.raises(InvalidArgument):
            receiving.check_receipt_date(bad, date(2024, 3, 1), last, today)


# ---- vendor performance ------------------------------------------------------------------------


def test_a_first_and_complete_receipt_counts_everything_on_its_day() -> None:
    deltas = performance.receipt_deltas(
        receipt_date=date(2024, 3, 8),
        first_receipt_date=None,
        order_date=date(2024, 3, 1),
        expected_delivery_date=date(2024, 3, 5),
        completes_order=True,
        has_rejections=True,
    )
    assert deltas == {date(2024, 3, 8): Delta(new_orders=1, late=1, quality_issues=1, delivery_days=7)}


def test_a_later_completion_is_booked_where_the_order_was_counted() -> None:
    deltas = performance.receipt_deltas(
        receipt_date=date(2024, 3, 12),
        first_receipt_date=date(2024, 3, 9),
        order_date=date(2024, 3, 2),
        expected_delivery_date=None,
        completes_order=True,
        has_rejections=True,
    )
    assert deltas == {
        date(2024, 3, 12): Delta(quality_issues=1),
        date(2024, 3, 9): Delta(on_time=1, delivery_days=10),
    }
    middle = performance.receipt_deltas(
        receipt_date=date(2024, 3, 10),
        first_receipt_date=date(2024, 3, 9),
        order_date=date(2024, 3, 2),
        expected_delivery_date=None,
        completes_order=False,
        has_rejections=False,
    )
    assert middle == {}


def test_running_average_and_summary() -> None:
    m = Metrics()
    for delta in (
        Delta(new_orders=1, on_time=1, delivery_days=7),
        Delta(new_orders=1, late=1, delivery_days=8),
        Delta(new_orders=1),
        Delta(quality_issues=1),
    ):
        m = performance.apply(m, delta)
    assert m == Metrics(3, 1, 1, 1, D("7.50"))
    m = performance.apply(m, Delta(on_time=1, delivery_days=10))
    assert m.average_delivery_days == D("8.33")
    assert performance.apply(Metrics(), Delta(on_time=1, delivery_days=5000)).average_delivery_days == D("999.99")
    summary = performance.summarize([m, Metrics(2, 0, 1, 0, D("4.00")), Metrics(1, 0, 0, 2, None)])
    assert (summary.total_orders, summary.on_time_deliveries, summary.late_deliveries, summary.quality_issues) == (
        6,
        2,
        2,
        3,
    )
    assert summary.on_time_rate == D("0.5000")
    assert summary.average_delivery_days == D("7.25")  # (8.33 x 3 + 4 x 1) / 4
    assert performance.summarize([]).on_time_rate is None


# ---- configuration -----------------------------------------------------------------------------


def test_approval_threshold_from_the_environment() -> None:
    assert ProcurementConfig.from_env({}).approval_threshold == DEFAULT_APPROVAL_THRESHOLD == D("10000.00")
    assert ProcurementConfig.from_env({"ERP_PO_APPROVAL_THRESHOLD": " 2500.5 "}).approval_threshold == D("2500.5")
    for bad in ("abc", "-1", "NaN", "Infinity"):
        with pytest.raises(ValueError, match="ERP_PO_APPROVAL_THRESHOLD"):
            ProcurementConfig.from_env({"ERP_PO_APPROVAL_THRESHOLD": bad})


# ---- auto-reorder ------------------------------------------------------------------------------


def _crossing(**kw: object) -> inventory_ev.ReorderPointReached:
    values: dict[str, object] = {
        "sku": "SKU-1",
        "quantity_available": 2,
        "reorder_point": 5,
        "reorder_quantity": 40,
        "preferred_vendor_id": str(A),
        "unit_cost": PbDecimal(value="2.35"),
    }
    values.update(kw)
    return inventory_ev.ReorderPointReached(**values)  # type: ignore[arg-type]


def test_reorder_draft() -> None:
    draft = reorder_draft(_crossing(), date(2024, 5, 1))
    assert not isinstance(draft, str)
    assert (draft.vendor_id, draft.order_date, draft.created_by, draft.notes, draft.auto_reorder_sku) == (
        A,
        date(2024, 5, 1),
        None,
        "auto-reorder",
        "SKU-1",
    )
    assert [(li.sku, li.quantity, li.unit_price) for li in draft.lines] == [("SKU-1", 40, D("2.35"))]
    for kw, reason in (
        ({"preferred_vendor_id": ""}, "no preferred vendor"),
        ({"preferred_vendor_id": "x"}, "not a UUID"),
        ({"reorder_quantity": 0}, "reorder_quantity"),
        ({"unit_cost": PbDecimal(value="1.234")}, "two decimal places"),
        ({"sku": "S" * 51}, "sku"),
    ):
        result = reorder_draft(_crossing(**kw), date(2024, 5, 1))
        assert isinstance(result, str) and reason in result, (kw, result)
