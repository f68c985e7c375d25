"""Payroll's own settings (`ERP_PAYROLL_*`), read once when the service is wired, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_SAGA_TIMEOUT_S = 300


@dataclass(frozen=True)
class PayrollConfig:
    """saga_timeout: how long a record may stay PROCESSING before ListStuckRecords reports it."""

    saga_timeout: timedelta = timedelta(seconds=DEFAULT_SAGA_TIMEOUT_S)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> PayrollConfig:
        env = os.environ if environ is None else environ
        raw = env.get("ERP_PAYROLL_SAGA_TIMEOUT_S", "")
        seconds = int(raw) if raw.strip() else DEFAULT_SAGA_TIMEOUT_S
        if seconds <= 0:
            raise ValueError("ERP_PAYROLL_SAGA_TIMEOUT_S must be a positive number of seconds")
        return cls(saga_timeout=timedelta(seconds=seconds))
