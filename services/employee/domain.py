"""Employee rules as plain Python: validation, the status lifecycle, audit diffs. No I/O."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.runtime.errors import FailedPrecondition, Validator
from services.runtime.redaction import MASK

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_SALARY = Decimal("99999999.99")  # NUMERIC(10, 2)

# Fields the API lets a caller change with UpdateEmployee (status changes have their own verbs).
UPDATABLE_EMPLOYEE_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "job_title",
        "salary",
        "hire_date",
        "department_id",
        "social_security_number",
        "bank_account_number",
    }
)
SENSITIVE_EMPLOYEE_FIELDS = frozenset({"social_security_number", "bank_account_number"})
UPDATABLE_DEPARTMENT_FIELDS = frozenset({"name", "code", "manager_id", "budget_code"})


class Status(StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    TERMINATED = "terminated"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_employee_fields(v: Validator, values: dict[str, Any], prefix: str = "") -> None:
    """Checks every field present in `values` (a new employee has them all).

    Values that failed to parse are None here and were already reported by their parser.
    `prefix` makes field paths relative to the request (e.g. "employee." in UpdateEmployee).
    """
    for name, limit in (("first_name", 100), ("last_name", 100), ("job_title", 100)):
        if name in values:
            v.require((values[name] or "").strip(), prefix + name)
            v.max_len(values[name], prefix + name, limit)
    if "email" in values:
        email = values["email"] or ""
        v.check(bool(EMAIL_RE.match(email)), prefix + "email", "must be an e-mail address")
        v.max_len(email, prefix + "email", 255)
    if "phone_number" in values:
        v.max_len(values["phone_number"], prefix + "phone_number", 20)
    salary = values.get("salary")
    if salary is not None:
        v.check(salary > 0, prefix + "salary", "must be greater than zero")
        v.check(salary <= MAX_SALARY, prefix + "salary", f"must be at most {MAX_SALARY}")
    for name, limit in (("social_security_number", 20), ("bank_account_number", 50)):
        if name in values:
            v.max_len(values[name], prefix + name, limit)


def ensure_mutable(status: str) -> None:
    if status == Status.TERMINATED:
        raise FailedPrecondition("a terminated employee cannot be changed; rehire them first")


def ensure_can_terminate(status: str, hire_date: date, termination_date: date) -> None:
    if status == Status.TERMINATED:
        raise FailedPrecondition("the employee is already terminated")
    if termination_date < hire_date:
        v = Validator()
        v.check(False, "termination_date", "must be on or after the hire date")
        v.raise_if_any()


def ensure_can_rehire(status: str, termination_date: date | None, new_hire_date: date) -> None:
    if status != Status.TERMINATED:
        raise FailedPrecondition("only a terminated employee can be rehired")
    if termination_date is not None and new_hire_date <= termination_date:
        v = Validator()
        v.check(False, "hire_date", "must be after the termination date")
        v.raise_if_any()


def ensure_can_start_leave(status: str) -> None:
    if status != Status.ACTIVE:
        raise FailedPrecondition(f"only an active employee can go on leave (status is {status})")


def ensure_can_end_leave(status: str) -> None:
    if status != Status.ON_LEAVE:
        raise FailedPrecondition(f"only an employee on leave can return (status is {status})")


def audit_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"old", "new"}} for every field whose value changed; sensitive values masked."""
    changes: dict[str, dict[str, Any]] = {}
    for name, value in new.items():
        before = old.get(name)
        if before == value:
            continue
        if name in SENSITIVE_EMPLOYEE_FIELDS:
            changes[name] = {"old": MASK if before else None, "new": MASK if value else None}
        else:
            changes[name] = {"old": _jsonable(before), "new": _jsonable(value)}
    return changes


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
