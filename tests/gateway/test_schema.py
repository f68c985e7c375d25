"""The federated schema: entities, the exported SDL, error masking, money scalars."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from strawberry.exceptions import StrawberryInputCoercionError

from gateway.errors import rpc_error
from gateway.scalars import parse_decimal, serialize_decimal
from gateway.schema import schema
from tests.gateway.support import Gql

SDL_FILE = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"


async def test_service_sdl_declares_entity_keys(gql: Gql) -> None:
    sdl = (await gql.data("{ _service { sdl } }"))["_service"]["sdl"]

    assert 'type Employee @key(fields: "id")' in sdl
    assert 'type Department @key(fields: "id")' in sdl
    for entity in ("PayrollRun", "Account", "InventoryItem", "Customer", "Vendor"):
        assert f'type {entity} @key(fields: "id")' in sdl
    for source in ("PayrollRecord", "Invoice", "PurchaseOrder"):
        assert f'type {source} implements JournalEntrySource @key(fields: "id")' in sdl
    assert "https://specs.apollo.dev/federation/v2" in sdl


def test_exported_sdl_is_current() -> None:
    assert SDL_FILE.exists(), "gateway/schema.graphql is missing: run `make codegen`"
    assert SDL_FILE.read_text() == schema.as_str() + "\n", "gateway/schema.graphql is stale: run `make codegen`"


def test_reference_fields_come_from_the_contracts() -> None:
    sdl = schema.as_str()

    assert "department: Department\n" in sdl  # Employee.department_id -> erp.employee.v1.Department
    assert "manager: Employee\n" in sdl  # Department.manager_id (graphql_field: "manager")
    assert "socialSecurityNumber: String\n" in sdl  # (erp.common.v1.sensitive)
    assert "journalEntry: JournalEntry\n" in sdl  # PayrollRecord.accounting_transaction_id (graphql_field)
    assert "reversalOf: JournalEntry\n" in sdl  # JournalEntry.reversal_of_id, derived name in camel case
    assert "account: Account\n" in sdl  # JournalEntryLine.account_code, target_field: "account_code"
    assert "inventoryItem: InventoryItem\n" in sdl  # PurchaseOrderItem.sku, target_field: "sku"
    assert "preferredVendor: Vendor\n" in sdl  # InventoryItem.preferred_vendor_id, across services


async def test_an_unexpected_error_is_masked_with_a_reference(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        result = await schema.execute("{ employees { totalCount } }", context_value=object())

    assert result.errors is not None
    error = result.errors[0].formatted
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["message"] == f"internal error (reference {error['extensions']['reference']})"
    assert "AttributeError" in caplog.text


def test_internal_service_errors_keep_only_the_reference() -> None:
    ref = "0b8e6a4e-5f0c-4c1e-9d7a-2f1b9a7c3d11"
    exc = grpc.aio.AioRpcError(
        grpc.StatusCode.INTERNAL, grpc.aio.Metadata(), grpc.aio.Metadata(), details=f"internal error (reference {ref})"
    )
    leaky = grpc.aio.AioRpcError(
        grpc.StatusCode.UNKNOWN, grpc.aio.Metadata(), grpc.aio.Metadata(), details="Traceback: psycopg at db:5432"
    )

    assert rpc_error("payroll", exc).formatted["message"] == f"internal error in the payroll service (reference {ref})"
    error = rpc_error("payroll", leaky).formatted
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["extensions"]["grpcStatus"] == "UNKNOWN"
    assert "psycopg" not in error["message"]


def test_decimals_are_strings_in_and_out() -> None:
    assert serialize_decimal(Decimal("1E+2")) == "100"
    assert serialize_decimal(Decimal("98765.40")) == "98765.40"
    assert parse_decimal("0.10") == Decimal("0.10")
    assert parse_decimal(3) == Decimal(3)
    for bad in (0.1, True, "abc", "NaN"):
        with pytest.raises(StrawberryInputCoercionError):
            parse_decimal(bad)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ employees( }", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nonsense }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($f: Int) { employees(first: $f) { totalCount } }", {"f": "x"}, "BAD_USER_INPUT"),
    ],
)
async def test_request_errors_have_codes(query: str, variables: dict[str, str] | None, code: str) -> None:
    result = await schema.execute(query, variable_values=variables)

    assert result.errors is not None
    assert [e.formatted["extensions"]["code"] for e in result.errors] == [code]
