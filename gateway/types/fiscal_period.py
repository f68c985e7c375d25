"""FiscalPeriod (erp.accounting.v1.FiscalPeriod): an accounting period of a fiscal year."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.enums import ProtoEnum
from gateway.wire import date_of, datetime_of, id_or_none


@strawberry.enum(description="Whether entries may still be dated in the period.")
class FiscalPeriodStatus(enum.Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


PERIOD_STATUS = ProtoEnum(FiscalPeriodStatus, pb.FiscalPeriodStatus, "FISCAL_PERIOD_STATUS_")


@strawberry.type(description="An accounting period of a fiscal year.")
class FiscalPeriod:
    id: strawberry.ID
    fiscal_year: int
    period_number: int
    start_date: date
    end_date: date
    status: FiscalPeriodStatus
    closed_at: datetime | None
    closed_by: strawberry.ID | None
    create_time: datetime | None
    update_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.FiscalPeriod) -> FiscalPeriod:
        return cls(
            id=strawberry.ID(m.id),
            fiscal_year=m.fiscal_year,
            period_number=m.period_number,
            start_date=date_of(m.start_date) or date.min,
            end_date=date_of(m.end_date) or date.min,
            status=PERIOD_STATUS.from_pb(m.status),
            closed_at=datetime_of(m, "closed_at"),
            closed_by=id_or_none(m.closed_by),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
        )
