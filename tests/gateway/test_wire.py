"""Wire conversions the gateway does by hand for speed agree with protobuf's own."""

from __future__ import annotations

from datetime import UTC

import pytest
from erp.payroll.v1 import payroll_pb2 as pb

from gateway.wire import datetime_of


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(0, 0), (1_700_000_000, 123_456_789), (1_700_000_000, 999), (-86_400, 5_000), (253_402_300_799, 999_999_999)],
)
def test_datetime_of_is_protobufs_to_datetime(seconds: int, nanos: int) -> None:
    record = pb.PayrollRecord()
    record.create_time.seconds, record.create_time.nanos = seconds, nanos

    converted = datetime_of(record, "create_time")

    assert converted == record.create_time.ToDatetime(tzinfo=UTC)
    assert converted is not None and converted.tzinfo is UTC


def test_an_unset_or_invalid_timestamp() -> None:
    record = pb.PayrollRecord()
    assert datetime_of(record, "create_time") is None
    record.create_time.nanos = -1
    with pytest.raises(ValueError):
        datetime_of(record, "create_time")
