"""Procurement's own settings (`ERP_PO_*`), read once when the service is wired, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

DEFAULT_APPROVAL_THRESHOLD = Decimal("10000.00")
APPROVAL_THRESHOLD_ENV = "ERP_PO_APPROVAL_THRESHOLD"


@dataclass(frozen=True)
class ProcurementConfig:
    """approval_threshold: orders whose total is above it must be approved by someone other
    than their creator (separation of duties); at or below it the creator may approve."""

    approval_threshold: Decimal = DEFAULT_APPROVAL_THRESHOLD

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProcurementConfig:
        env = os.environ if environ is None else environ
        raw = env.get(APPROVAL_THRESHOLD_ENV, "").strip()
        if not raw:
            return cls()
        try:
            threshold = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"{APPROVAL_THRESHOLD_ENV} must be a decimal amount, e.g. 10000.00") from None
        if not threshold.is_finite() or threshold < 0:
            raise ValueError(f"{APPROVAL_THRESHOLD_ENV} must be a non-negative amount")
        return cls(approval_threshold=threshold)
