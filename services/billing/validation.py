"""Field rules for billing requests, collected into a Validator (all violations at once). No I/O.

Values that failed to parse arrive here as None: their parser already reported them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from services.billing.domain import MAX_AMOUNT, MAX_LINE_VALUE, LineInput, Totals, line_amount
from services.runtime.errors import Validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_LINES = 500
MAX_DESCRIPTION = 2000
MAX_NOTES = 10000
MAX_REASON = 2000

# Fields UpdateCustomer may change, with their length limits (None: not a string).
CUSTOMER_TEXT_LIMITS = {
    "name": 200,
    "email": 255,
    "phone": 20,
    "address": 255,
    "city": 100,
    "state": 50,
    "zip_code": 20,
    "country": 100,
}
UPDATABLE_CUSTOMER_FIELDS = frozenset({*CUSTOMER_TEXT_LIMITS, "credit_limit", "status"})
UPDATABLE_INVOICE_FIELDS = frozenset({"invoice_date", "due_date", "tax_amount", "notes", "lines"})


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_customer_fields(v: Validator, values: dict[str, Any], prefix: str = "") -> None:
    """Checks every field present in `values` (a new customer has them all)."""
    if "name" in values:
        v.require((values["name"] or "").strip(), prefix + "name")
    if "email" in values:
        v.check(bool(EMAIL_RE.match(values["email"] or "")), prefix + "email", "must be an e-mail address")
    for name, limit in CUSTOMER_TEXT_LIMITS.items():
        if name in values:
            v.max_len(values[name], prefix + name, limit)
    limit_value = values.get("credit_limit")
    if limit_value is not None:
        check_amount(v, limit_value, prefix + "credit_limit")


def check_amount(v: Validator, value: Decimal, field: str, *, positive: bool = False) -> None:
    """A money amount: >= 0 (or > 0) and within NUMERIC(12, 2)."""
    if positive:
        v.check(value > 0, field, "must be greater than zero")
    else:
        v.check(value >= 0, field, "must not be negative")
    v.check(value <= MAX_AMOUNT, field, f"must be at most {MAX_AMOUNT}")


def validate_line(
    v: Validator, prefix: str, description: str, quantity: Decimal | None, unit_price: Decimal | None
) -> LineInput | None:
    """One invoice line; returns it when every part is valid."""
    v.require(description.strip(), prefix + "description")
    v.max_len(description, prefix + "description", MAX_DESCRIPTION)
    if quantity is not None:
        v.check(quantity > 0, prefix + "quantity", "must be greater than zero")
        v.check(quantity <= MAX_LINE_VALUE, prefix + "quantity", f"must be at most {MAX_LINE_VALUE}")
    if unit_price is not None:
        v.check(unit_price >= 0, prefix + "unit_price", "must not be negative")
        v.check(unit_price <= MAX_LINE_VALUE, prefix + "unit_price", f"must be at most {MAX_LINE_VALUE}")
    if quantity is None or unit_price is None or not description.strip():
        return None
    if not (0 < quantity <= MAX_LINE_VALUE and 0 <= unit_price <= MAX_LINE_VALUE):
        return None
    if line_amount(quantity, unit_price) > MAX_AMOUNT:
        v.check(False, prefix + "unit_price", f"makes the line amount exceed {MAX_AMOUNT}")
        return None
    return LineInput(description.strip(), quantity, unit_price)


def check_line_count(v: Validator, lines: Sequence[object], field: str) -> None:
    v.check(len(lines) >= 1, field, "must have at least one line")
    v.check(len(lines) <= MAX_LINES, field, f"at most {MAX_LINES} lines")


def check_totals(v: Validator, totals: Totals, lines_field: str, tax_field: str) -> None:
    if totals.subtotal > MAX_AMOUNT:
        v.check(False, lines_field, f"the subtotal must be at most {MAX_AMOUNT}")
    else:
        v.check(totals.total_amount <= MAX_AMOUNT, tax_field, f"subtotal plus tax must be at most {MAX_AMOUNT}")
