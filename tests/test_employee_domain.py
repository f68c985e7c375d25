"""Unit tests of services/employee/domain.py: pure rules, no I/O."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from erp.employee.v1 import employee_pb2 as pb

from services.employee import domain
from services.employee.domain import Status
from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator
from services.runtime.redaction import MASK, sensitive_field_names

SSN = "123-45-6789"
IBAN = "DE89370400440532013000"


def valid_employee(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000",
        "job_title": "Engineer",
        "salary": Decimal("50000.00"),
        "hire_date": date(2020, 1, 15),
        "department_id": None,
        "social_security_number": SSN,
        "bank_account_number": IBAN,
    }
    values.update(overrides)
    return values


def violations(values: dict[str, Any]) -> list[tuple[str, str]]:
    v = Validator()
    domain.validate_employee_fields(v, values)
    return [(x.field, x.description) for x in v.violations]


def violated_fields(values: dict[str, Any]) -> set[str]:
    return {f for f, _ in violations(values)}


# ---- constants agree with the contract ----------------------------------------------------------


def test_sensitive_fields_match_the_contract_annotations() -> None:
    assert sensitive_field_names(pb.Employee.DESCRIPTOR) == domain.SENSITIVE_EMPLOYEE_FIELDS


def test_updatable_fields_exist_on_the_messages() -> None:
    employee_fields = {f.name for f in pb.Employee.DESCRIPTOR.fields}
    department_fields = {f.name for f in pb.Department.DESCRIPTOR.fields}
    assert employee_fields >= domain.UPDATABLE_EMPLOYEE_FIELDS
    assert department_fields >= domain.UPDATABLE_DEPARTMENT_FIELDS
    # Lifecycle and server-owned fields change only through their own verbs.
    for name in ("id", "status", "termination_date", "version", "create_time", "update_time"):
        assert name not in domain.UPDATABLE_EMPLOYEE_FIELDS
    assert domain.SENSITIVE_EMPLOYEE_FIELDS <= domain.UPDATABLE_EMPLOYEE_FIELDS


def test_status_values_are_the_stored_strings() -> None:
    assert [s.value for s in Status] == ["active", "on_leave", "terminated"]
    assert Status.ACTIVE == "active"


# ---- normalize_email ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Ada@Example.COM", "ada@example.com"), ("  ada@example.com\t", "ada@example.com"), ("", "")],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert domain.normalize_email(raw) == expected


# ---- validate_employee_fields ------------------------------------------------------------------


def test_a_complete_valid_employee_has_no_violations() -> None:
    assert violations(valid_employee()) == []


def test_only_the_present_fields_are_checked() -> None:
    assert violations({}) == []
    assert violations({"job_title": "CTO"}) == []
    assert violated_fields({"salary": Decimal("0")}) == {"salary"}


@pytest.mark.parametrize("name", ["first_name", "last_name", "job_title"])
@pytest.mark.parametrize("blank", ["", "   ", None])
def test_required_names_must_not_be_blank(name: str, blank: str | None) -> None:
    assert (name, "is required") in violations(valid_employee(**{name: blank}))


@pytest.mark.parametrize("name", ["first_name", "last_name", "job_title"])
def test_names_are_at_most_100_characters(name: str) -> None:
    assert violations(valid_employee(**{name: "x" * 100})) == []
    assert violated_fields(valid_employee(**{name: "x" * 101})) == {name}


@pytest.mark.parametrize(
    "address", ["", "ada", "ada@", "@example.com", "ada@example", "ada @example.com", "ada@exa mple.com", "a@b@c.de"]
)
def test_bad_email_addresses(address: str) -> None:
    assert ("email", "must be an e-mail address") in violations(valid_employee(email=address))


@pytest.mark.parametrize("address", ["a@b.co", "first.last+tag@sub.example.org"])
def test_good_email_addresses(address: str) -> None:
    assert violations(valid_employee(email=address)) == []


def test_email_is_at_most_255_characters() -> None:
    local = "a" * 64
    ok = f"{local}@{'d' * (255 - len(local) - 5)}.com"
    assert len(ok) == 255
    assert violations(valid_employee(email=ok)) == []
    assert violated_fields(valid_employee(email="x" + ok)) == {"email"}


def test_missing_email_is_a_violation() -> None:
    assert violated_fields(valid_employee(email=None)) == {"email"}


@pytest.mark.parametrize("salary", [Decimal("0"), Decimal("0.00"), Decimal("-0.01"), Decimal("-50000")])
def test_salary_must_be_positive(salary: Decimal | None) -> None:
    assert ("salary", "must be greater than zero") in violations(valid_employee(salary=salary))


def test_salary_upper_bound_is_the_column_precision() -> None:
    assert violations(valid_employee(salary=domain.MAX_SALARY)) == []
    assert violations(valid_employee(salary=Decimal("0.01"))) == []
    assert violated_fields(valid_employee(salary=domain.MAX_SALARY + Decimal("0.01"))) == {"salary"}


def test_unparsed_values_are_not_reported_twice() -> None:
    # A missing salary or hire date is reported by its parser ("is required"); the rules skip it.
    assert violations(valid_employee(salary=None, hire_date=None)) == []


@pytest.mark.parametrize(
    ("name", "limit"), [("phone_number", 20), ("social_security_number", 20), ("bank_account_number", 50)]
)
def test_optional_field_limits(name: str, limit: int) -> None:
    assert violations(valid_employee(**{name: None})) == []
    assert violations(valid_employee(**{name: "9" * limit})) == []
    assert violated_fields(valid_employee(**{name: "9" * (limit + 1)})) == {name}


def test_all_violations_are_collected_and_never_quote_values() -> None:
    found = violations(
        valid_employee(
            first_name="",
            email="not-an-email",
            salary=Decimal("-1"),
            social_security_number=SSN * 3,
            bank_account_number=IBAN * 3,
        )
    )
    assert {f for f, _ in found} == {"first_name", "email", "salary", "social_security_number", "bank_account_number"}
    text = json.dumps(found)
    assert SSN not in text
    assert IBAN not in text
    assert "not-an-email" not in text


# ---- lifecycle rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.ON_LEAVE, "active", "on_leave"])
def test_active_and_on_leave_employees_are_mutable(status: str) -> None:
    domain.ensure_mutable(status)


@pytest.mark.parametrize("status", [Status.TERMINATED, "terminated"])
def test_terminated_employees_are_not_mutable(status: str) -> None:
    with pytest.raises(FailedPrecondition):
        domain.ensure_mutable(status)


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.ON_LEAVE])
def test_terminate_on_or_after_hire_date(status: Status) -> None:
    domain.ensure_can_terminate(status, date(2020, 1, 15), date(2020, 1, 15))
    domain.ensure_can_terminate(status, date(2020, 1, 15), date(2024, 12, 31))


def test_terminate_before_hire_date_is_invalid_argument_on_termination_date() -> None:
    with pytest.raises(InvalidArgument) as info:
        domain.ensure_can_terminate(Status.ACTIVE, date(2020, 1, 15), date(2020, 1, 14))
    assert [v.field for v in info.value.violations] == ["termination_date"]


def test_terminating_twice_is_a_failed_precondition_whatever_the_date() -> None:
    with pytest.raises(FailedPrecondition):
        domain.ensure_can_terminate(Status.TERMINATED, date(2020, 1, 15), date(2023, 1, 1))
    with pytest.raises(FailedPrecondition):
        domain.ensure_can_terminate(Status.TERMINATED, date(2020, 1, 15), date(2019, 1, 1))


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.ON_LEAVE])
def test_only_terminated_employees_can_be_rehired(status: Status) -> None:
    with pytest.raises(FailedPrecondition):
        domain.ensure_can_rehire(status, None, date(2024, 1, 1))


def test_rehire_must_be_after_the_termination_date() -> None:
    terminated = date(2023, 6, 30)
    domain.ensure_can_rehire(Status.TERMINATED, terminated, date(2023, 7, 1))
    for bad in (terminated, date(2023, 6, 29)):
        with pytest.raises(InvalidArgument) as info:
            domain.ensure_can_rehire(Status.TERMINATED, terminated, bad)
        assert [v.field for v in info.value.violations] == ["hire_date"]


def test_rehire_without_a_termination_date_only_checks_status() -> None:
    domain.ensure_can_rehire(Status.TERMINATED, None, date(2000, 1, 1))


def test_leave_transitions() -> None:
    domain.ensure_can_start_leave(Status.ACTIVE)
    domain.ensure_can_end_leave(Status.ON_LEAVE)
    for status in (Status.ON_LEAVE, Status.TERMINATED):
        with pytest.raises(FailedPrecondition):
            domain.ensure_can_start_leave(status)
    for status in (Status.ACTIVE, Status.TERMINATED):
        with pytest.raises(FailedPrecondition):
            domain.ensure_can_end_leave(status)


# ---- audit_diff --------------------------------------------------------------------------------


def test_audit_diff_records_only_changed_fields() -> None:
    old = {"first_name": "Ada", "job_title": "Engineer", "salary": Decimal("50000.00")}
    new = {"first_name": "Ada", "job_title": "CTO", "salary": Decimal("50000")}
    assert domain.audit_diff(old, new) == {"job_title": {"old": "Engineer", "new": "CTO"}}


def test_audit_diff_of_a_new_employee_skips_empty_values() -> None:
    changes = domain.audit_diff({}, valid_employee(phone_number=None))
    assert "phone_number" not in changes
    assert "department_id" not in changes
    assert changes["first_name"] == {"old": None, "new": "Ada"}


def test_audit_diff_makes_values_json_safe() -> None:
    dept = uuid.uuid4()
    changes = domain.audit_diff(
        {"salary": Decimal("1.00"), "hire_date": date(2020, 1, 1), "department_id": None},
        {"salary": Decimal("2.50"), "hire_date": date(2021, 2, 3), "department_id": dept},
    )
    assert changes == {
        "salary": {"old": "1.00", "new": "2.50"},
        "hire_date": {"old": "2020-01-01", "new": "2021-02-03"},
        "department_id": {"old": None, "new": str(dept)},
    }
    json.dumps(changes)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, SSN, {"old": None, "new": MASK}),
        (SSN, None, {"old": MASK, "new": None}),
        (SSN, "987-65-4321", {"old": MASK, "new": MASK}),
    ],
)
def test_audit_diff_masks_sensitive_values(old: str | None, new: str | None, expected: dict[str, Any]) -> None:
    for name in domain.SENSITIVE_EMPLOYEE_FIELDS:
        changes = domain.audit_diff({name: old}, {name: new})
        assert changes == {name: expected}
        text = json.dumps(changes)
        assert SSN not in text
        assert "987-65-4321" not in text


def test_audit_diff_of_an_unchanged_sensitive_value_is_empty() -> None:
    assert domain.audit_diff({"social_security_number": SSN}, {"social_security_number": SSN}) == {}


def test_audit_diff_of_a_whole_new_employee_never_contains_raw_sensitive_values() -> None:
    changes = domain.audit_diff({}, valid_employee())
    assert changes["social_security_number"] == {"old": None, "new": MASK}
    assert changes["bank_account_number"] == {"old": None, "new": MASK}
    text = json.dumps(changes)
    assert SSN not in text
    assert IBAN not in text
