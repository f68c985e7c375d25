"""Billing's own settings (`ERP_BILLING_*`), read once when the service is wired, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_OVERDUE_INTERVAL_MS = 60_000
DEFAULT_SUMMARY_MIN_INTERVAL_MS = 200


@dataclass(frozen=True)
class BillingConfig:
    """overdue_interval_s: how often the overdue job runs; summary_min_interval_s: the least time
    between two refreshes of the invoice_summary read model (the debounce)."""

    overdue_interval_s: float = DEFAULT_OVERDUE_INTERVAL_MS / 1000
    summary_min_interval_s: float = DEFAULT_SUMMARY_MIN_INTERVAL_MS / 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BillingConfig:
        env = os.environ if environ is None else environ
        return cls(
            overdue_interval_s=_millis(env, "ERP_BILLING_OVERDUE_INTERVAL_MS", DEFAULT_OVERDUE_INTERVAL_MS) / 1000,
            summary_min_interval_s=_millis(env, "ERP_BILLING_SUMMARY_MIN_INTERVAL_MS", DEFAULT_SUMMARY_MIN_INTERVAL_MS)
            / 1000,
        )


def _millis(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{key} must be a whole number of milliseconds") from None
    if value <= 0:
        raise ValueError(f"{key} must be a positive number of milliseconds")
    return value
