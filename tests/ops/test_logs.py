"""Structured logs carry the correlation and trace ids, and sensitive values never reach them:
the redaction is keyed on the `(sensitive)` fields of the contracts. The package-wide scan in
conftest.py checks every line of the tests/ops run, including these."""

from __future__ import annotations

import json
import logging
import uuid

import grpc
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc

from services.runtime import context
from services.runtime.logging import JsonFormatter
from services.runtime.redaction import RedactingFilter, all_sensitive_names, redact_text
from tests.employee.helpers import IBAN, SSN, employee_request

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
log = logging.getLogger("tests.ops.logs")


def test_sensitive_names_come_from_the_contracts() -> None:
    assert {"social_security_number", "bank_account_number", "socialSecurityNumber"} <= all_sensitive_names()
    assert "salary" not in all_sensitive_names()


def test_every_spelling_is_masked() -> None:
    lines = [
        f'{{"social_security_number": "{SSN}", "salary": "1"}}',  # JSON
        f"{{'bank_account_number': '{IBAN}'}}",  # a dict's repr
        f'social_security_number: "{SSN}"\nbank_account_number: "{IBAN}"',  # protobuf text format
        f"update bank_account_number={IBAN}, social_security_number = {SSN};",  # key=value
        f'{{"socialSecurityNumber":"{SSN}","old_bank_account_number":"{IBAN}"}}',  # JSON names, prefixes
    ]
    for line in lines:
        masked = redact_text(line)
        assert SSN not in masked and IBAN not in masked, masked
        assert "****" in masked
    assert redact_text('{"salary": "1"}') == '{"salary": "1"}'


def test_json_lines_have_correlation_and_trace_ids_and_no_secrets(log_lines: list[str]) -> None:
    correlation = uuid.uuid4()
    before = len(log_lines)
    with context.bound(context.CallContext(correlation_id=correlation, traceparent=TRACEPARENT)):
        log.warning("employee payload %s", {"social_security_number": SSN, "bank_account_number": IBAN})
        try:
            raise ValueError(f"could not store bank_account_number={IBAN}")
        except ValueError:
            log.exception("update failed")
    entries = [json.loads(line) for line in log_lines[before:] if '"tests.ops.logs"' in line]
    assert len(entries) == 2
    for entry in entries:
        assert entry["correlation_id"] == str(correlation)
        assert entry["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert entry["traceparent"] == TRACEPARENT
    assert "****" in entries[0]["message"] and "****" in entries[1]["exception"]


def test_the_filter_masks_records_for_any_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ssn %s", ("social_security_number=" + SSN,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "ssn social_security_number=****"
    assert JsonFormatter("x").format(record).count(SSN) == 0


async def test_a_workload_with_personal_data_logs_none_of_it(
    employee_channel: grpc.aio.Channel, log_lines: list[str]
) -> None:
    stub = api_grpc.EmployeeServiceStub(employee_channel)
    before = len(log_lines)
    created = await stub.CreateEmployee(employee_request(social_security_number=SSN, bank_account_number=IBAN))
    got = await stub.GetEmployee(api.GetEmployeeRequest(id=created.employee.id, view=api.EMPLOYEE_VIEW_SENSITIVE))
    assert got.employee.social_security_number == SSN
    bad = employee_request(social_security_number="x" * 50, bank_account_number=IBAN)
    try:
        await stub.CreateEmployee(bad)
    except grpc.aio.AioRpcError as exc:
        assert IBAN not in (exc.details() or "")
    log.info("workload done: %d new log lines", len(log_lines) - before)
    assert not any(SSN in line or IBAN in line for line in log_lines)
