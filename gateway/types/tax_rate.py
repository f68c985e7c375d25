"""TaxRate (erp.payroll.v1.TaxRate): the withholding rates in force for a date range."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.payroll.v1 import payroll_pb2 as pb

from gateway.wire import amount_of, date_of, datetime_of


@strawberry.type(description='Withholding rates (fractions, e.g. "0.0620") in force from `effectiveFrom`.')
class TaxRate:
    id: strawberry.ID
    year: int
    federal_rate: Decimal
    state_rate: Decimal
    social_security_rate: Decimal
    medicare_rate: Decimal
    effective_from: date
    effective_to: date | None = strawberry.field(description="Last day the rates apply; null when open-ended.")
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.TaxRate) -> TaxRate:
        return cls(
            id=strawberry.ID(m.id),
            year=m.year,
            federal_rate=amount_of(m.federal_rate),
            state_rate=amount_of(m.state_rate),
            social_security_rate=amount_of(m.social_security_rate),
            medicare_rate=amount_of(m.medicare_rate),
            effective_from=date_of(m.effective_from) or date.min,
            effective_to=date_of(m.effective_to),
            create_time=datetime_of(m, "create_time"),
        )
