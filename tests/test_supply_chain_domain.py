"""Supply chain rules without a database: the lifecycle, carrier updates in any order, carrier
metrics on fixed dates, field validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator
from services.supply_chain import domain, performance
from services.supply_chain.domain import Status, Tracking


def at(d: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, d, hour, tzinfo=UTC)


ALLOWED = {
    (Status.PENDING, Status.IN_TRANSIT),
    (Status.PENDING, Status.CANCELLED),
    (Status.IN_TRANSIT, Status.DELIVERED),
    (Status.IN_TRANSIT, Status.CANCELLED),
    (Status.IN_TRANSIT, Status.RETURNED),
    (Status.IN_TRANSIT, Status.LOST),
    (Status.DELIVERED, Status.RETURNED),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", [s for s in Status if s != Status.PENDING])
def test_transitions_go_forward_only(current: Status, target: Status) -> None:
    if (current, target) in ALLOWED:
        domain.ensure_transition(current.value, target)
    else:
        with pytest.raises(FailedPrecondition, match=current.value):
            domain.ensure_transition(current.value, target)


def test_every_status_change_has_its_tracking_entry() -> None:
    assert set(domain.TRACKING_OF_STATUS) == set(Status)


def test_scans_never_change_the_status() -> None:
    for scan in domain.CARRIER_SCANS:
        assert domain.carrier_update_effect("in_transit", at(3), scan, at(5)) is None


def test_reported_changes_apply_when_not_older_and_allowed() -> None:
    since = at(3, 8)
    assert domain.carrier_update_effect("in_transit", since, Tracking.DELIVERED, at(6)) == Status.DELIVERED
    assert domain.carrier_update_effect("in_transit", since, Tracking.DELIVERED, since) == Status.DELIVERED
    assert domain.carrier_update_effect("in_transit", since, Tracking.LOST, at(6)) == Status.LOST
    assert domain.carrier_update_effect("delivered", at(6, 15), Tracking.RETURNED, at(8)) == Status.RETURNED


def test_older_or_impossible_reported_changes_are_history_only() -> None:
    delivered_since = at(6, 15)
    # Out of order: older than the current status.
    assert domain.carrier_update_effect("delivered", delivered_since, Tracking.RETURNED, at(6, 9)) is None
    assert domain.carrier_update_effect("delivered", delivered_since, Tracking.LOST, at(6, 10)) is None
    # Newer, but the lifecycle forbids it (lost and returned are final, a delivery is not lost).
    assert domain.carrier_update_effect("delivered", delivered_since, Tracking.LOST, at(7)) is None
    assert domain.carrier_update_effect("lost", at(6), Tracking.DELIVERED, at(7)) is None
    assert domain.carrier_update_effect("returned", at(6), Tracking.DELIVERED, at(7)) is None
    assert domain.carrier_update_effect("delivered", delivered_since, Tracking.DELIVERED, at(7)) is None


def test_carrier_updates_need_a_dispatch() -> None:
    with pytest.raises(FailedPrecondition):
        domain.ensure_with_carrier(None)
    domain.ensure_with_carrier(at(3))


def test_update_rules() -> None:
    domain.ensure_updatable("pending", {"carrier", "origin_city", "estimated_delivery_date"})
    domain.ensure_updatable("in_transit", {"estimated_delivery_date"})
    with pytest.raises(FailedPrecondition, match="origin_city"):
        domain.ensure_updatable("in_transit", {"origin_city", "estimated_delivery_date"})
    with pytest.raises(FailedPrecondition, match="delivered"):
        domain.ensure_updatable("delivered", {"estimated_delivery_date"})


def test_dispatch_needs_a_tracking_number() -> None:
    assert domain.dispatch_tracking_number(None, "1Z") == "1Z"
    assert domain.dispatch_tracking_number("OLD", "NEW") == "NEW"
    assert domain.dispatch_tracking_number("OLD", "") == "OLD"
    with pytest.raises(InvalidArgument) as info:
        domain.dispatch_tracking_number(None, "")
    assert [v.field for v in info.value.violations] == ["tracking_number"]


def test_times() -> None:
    with pytest.raises(InvalidArgument):
        domain.check_delivered_after_dispatch(at(5), at(4), "delivered_at")
    domain.check_delivered_after_dispatch(at(5), at(5), "delivered_at")
    with pytest.raises(InvalidArgument):
        domain.check_estimate_after_dispatch(date(2025, 3, 2), at(3), "estimated_delivery_date")
    domain.check_estimate_after_dispatch(date(2025, 3, 3), at(3, 23), "estimated_delivery_date")
    v = Validator()
    now = at(10)
    domain.check_not_future(v, now + domain.CLOCK_SKEW, now, "a")
    domain.check_not_future(v, now + domain.CLOCK_SKEW + timedelta(seconds=1), now, "b")
    assert [x.field for x in v.violations] == ["b"]


def test_numbers_and_fields() -> None:
    assert domain.shipment_number(2025, 42) == "SH-2025-000042"
    v = Validator()
    domain.validate_texts(v, {"carrier": None, "origin_state": "x" * 51, "destination_city": "Austin"})
    domain.validate_item(v, " ", "", 0, Decimal("-0.01"), "items[0].")
    domain.validate_item(v, "SKU", "", 1, Decimal("100000000.00"), "items[1].")
    domain.validate_items_count(v, 0)
    assert [x.field for x in v.violations] == [
        "origin_state",
        "carrier",
        "items[0].sku",
        "items[0].quantity",
        "items[0].weight",
        "items[1].weight",
        "items",
    ]


# ---- carrier performance -----------------------------------------------------------------------


def test_delivery_facts_use_utc_days() -> None:
    late_evening_east = datetime(2025, 3, 6, 21, 0, tzinfo=timezone(timedelta(hours=-5)))  # 03-07 02:00 UTC
    d = performance.delivery(at(3, 8), late_evening_east, date(2025, 3, 6))
    assert (d.actual_delivery_date, d.delivery_days, d.on_time) == (date(2025, 3, 7), 4, False)
    assert performance.delivery(at(3), at(7), date(2025, 3, 7)).on_time is True
    assert performance.delivery(at(3), at(7), None).on_time is None


def test_running_average_and_counts_on_a_day() -> None:
    m = performance.Metrics()
    for days, on_time in ((3, True), (4, False), (1, None)):
        m = performance.add(m, performance.Delivery(date(2025, 3, 6), days, on_time))
    assert m == performance.Metrics(3, 1, 1, Decimal("2.67"))


def test_summary_weights_days_by_deliveries() -> None:
    rows = [performance.Metrics(3, 1, 1, Decimal("2.67")), performance.Metrics(1, 1, 0, Decimal("1.00"))]
    s = performance.summarize(rows)
    assert (s.total_shipments, s.on_time_deliveries, s.late_deliveries) == (4, 2, 1)
    assert (s.on_time_rate, s.average_delivery_days) == (Decimal("0.5000"), Decimal("2.25"))
    nothing = performance.summarize([])
    assert (nothing.total_shipments, nothing.on_time_rate, nothing.average_delivery_days) == (0, None, None)
