"""Inventory rules without a database: levels, moving-average cost, reorder crossings,
adjustment validation and valuation totals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.inventory import domain
from services.inventory.domain import Levels, MovementType
from services.runtime.errors import FailedPrecondition, Validator

D = Decimal


# ---- moving average ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_hand", "old", "received", "cost", "expected"),
    [
        (10, "5.00", 30, "7.00", "6.50"),  # the worked example: (50 + 210) / 40
        (0, "5.00", 12, "3.10", "3.10"),  # nothing on hand: the receipt's cost
        (0, "0.00", 1, "2.345", "2.35"),  # ... rounded half-up to cents
        (1, "2.00", 2, "2.01", "2.01"),  # 6.02 / 3 = 2.00666.. -> 2.01
        (1, "2.00", 1, "2.05", "2.03"),  # 2.025 exactly: half-up (half-even would give 2.02)
        (1, "0.00", 1, "0.01", "0.01"),  # 0.005 exactly -> 0.01
        (3, "1.00", 1, "1.01", "1.00"),  # 4.01 / 4 = 1.0025 -> 1.00
        (2, "10.00", 1, "0.00", "6.67"),  # a free receipt lowers the cost: 20 / 3
    ],
)
def test_moving_average_cost(on_hand: int, old: str, received: int, cost: str, expected: str) -> None:
    assert domain.moving_average_cost(on_hand, D(old), received, D(cost)) == D(expected)


def test_moving_average_cost_needs_a_positive_receipt() -> None:
    with pytest.raises(ValueError):
        domain.moving_average_cost(5, D("1.00"), 0, D("2.00"))


# ---- levels ------------------------------------------------------------------------------------


def test_levels_change_and_available() -> None:
    levels = Levels(10, 3, 5).change(on_hand=-2, reserved=1, on_order=-5)
    assert levels == Levels(8, 4, 0)
    assert levels.available == 4


@pytest.mark.parametrize(
    "change",
    [
        {"on_hand": -11},  # more than on hand
        {"on_hand": -8},  # would leave less than the 3 reserved
        {"reserved": 8},  # more than available
        {"reserved": -4},  # negative reserved
        {"on_order": -1},  # negative on order
        {"on_hand": 2**31},  # beyond INTEGER
    ],
)
def test_levels_refuse_broken_rules(change: dict[str, int]) -> None:
    with pytest.raises(FailedPrecondition):
        Levels(10, 3, 0).change(**change)


def test_less_on_order_never_negative() -> None:
    assert domain.less_on_order(10, 4) == 6
    assert domain.less_on_order(3, 10) == 0
    assert domain.less_on_order(3, -2) == 3


def test_ensure_can_reserve() -> None:
    domain.ensure_can_reserve("active", Levels(10, 4, 0), 6)
    domain.ensure_can_reserve("discontinued", Levels(10, 4, 0), 1)  # remaining stock is sold off
    with pytest.raises(FailedPrecondition, match="only 6 units are available"):
        domain.ensure_can_reserve("active", Levels(10, 4, 0), 7)
    with pytest.raises(FailedPrecondition, match="inactive"):
        domain.ensure_can_reserve("inactive", Levels(10, 0, 0), 1)


def test_ensure_active_reservation() -> None:
    domain.ensure_active("active", "fulfilled")
    for status in ("fulfilled", "cancelled", "expired"):
        with pytest.raises(FailedPrecondition):
            domain.ensure_active(status, "fulfilled")


# ---- reorder crossings -------------------------------------------------------------------------


def test_reorder_signal_fires_once_per_crossing() -> None:
    point, triggered, fired = 5, False, []
    for available in (9, 6, 5, 4, 0, 3, 6, 7, 5, 5, 2):
        decision = domain.reorder_signal(available, point, triggered, "active")
        triggered = decision.triggered
        fired.append(decision.emit)
    #                  9      6      5     4      0      3      6      7      5     5      2
    assert fired == [False, False, True, False, False, False, False, False, True, False, False]


def test_reorder_signal_only_for_active_items() -> None:
    for status in ("inactive", "discontinued"):
        decision = domain.reorder_signal(2, 5, False, status)
        assert decision == domain.ReorderDecision(emit=False, triggered=True)
    assert domain.reorder_signal(2, 5, True, "active") == domain.ReorderDecision(emit=False, triggered=True)
    assert domain.reorder_signal(6, 5, True, "active") == domain.ReorderDecision(emit=False, triggered=False)


def test_a_new_item_at_or_below_its_point_counts_as_signalled() -> None:
    assert domain.initial_reorder_flag(0, 0) is True
    assert domain.initial_reorder_flag(5, 5) is True
    assert domain.initial_reorder_flag(6, 5) is False


# ---- adjustments -------------------------------------------------------------------------------


def _violations(movement_type: MovementType | None, quantity: int, reason: str) -> list[str]:
    v = Validator()
    domain.validate_adjustment(v, movement_type, quantity, reason)
    return [x.field for x in v.violations]


def test_validate_adjustment() -> None:
    assert _violations(MovementType.ADJUSTMENT, 5, "count") == []
    assert _violations(MovementType.ADJUSTMENT, -5, "count") == []
    assert _violations(MovementType.DAMAGE, -1, "dropped") == []
    assert _violations(MovementType.THEFT, -1, "missing") == []
    assert _violations(MovementType.DAMAGE, 1, "dropped") == ["quantity"]
    assert _violations(MovementType.THEFT, 0, "x") == ["quantity", "quantity"]
    assert _violations(MovementType.ADJUSTMENT, 0, "count") == ["quantity"]
    assert _violations(MovementType.ADJUSTMENT, 1, "  ") == ["reason"]
    assert _violations(MovementType.RECEIPT, 1, "x") == ["movement_type"]
    assert _violations(MovementType.RESERVATION, 1, "x") == ["movement_type"]
    assert _violations(None, 1, "x") == ["movement_type"]


def test_stock_value_is_signed_and_exact() -> None:
    assert domain.stock_value(-3, D("6.50")) == D("-19.50")
    assert domain.stock_value(7, D("0.01")) == D("0.07")


def test_validate_item_fields() -> None:
    v = Validator()
    values = {
        "sku": "",
        "name": "x" * 201,
        "category": "c",
        "quantity_on_hand": -1,
        "reorder_point": -1,
        "reorder_quantity": 0,
        "unit_cost": D("-0.01"),
        "unit_price": D("100000000.00"),
        "warehouse_location": "w" * 51,
    }
    domain.validate_item_fields(v, values)
    assert sorted(x.field for x in v.violations) == sorted(
        [
            "sku",
            "name",
            "quantity_on_hand",
            "reorder_point",
            "reorder_quantity",
            "unit_cost",
            "unit_price",
            "warehouse_location",
        ]
    )


# ---- valuation ---------------------------------------------------------------------------------


def test_summarize_valuation() -> None:
    summary = domain.summarize_valuation(
        [
            domain.CategoryTotals("tools", 2, 15, D("120.50")),
            domain.CategoryTotals("bolts", 1, 1000, D("30.00")),
        ]
    )
    assert (summary.total_items, summary.total_quantity, summary.total_value) == (3, 1015, D("150.50"))
    assert summary.by_category == [
        {"category": "bolts", "item_count": 1, "total_quantity": 1000, "total_value": "30.00"},
        {"category": "tools", "item_count": 2, "total_quantity": 15, "total_value": "120.50"},
    ]


def test_empty_valuation() -> None:
    summary = domain.summarize_valuation([])
    assert (summary.total_items, summary.total_quantity, summary.total_value, summary.by_category) == (
        0,
        0,
        D("0.00"),
        [],
    )
