"""Builders and error assertions for the billing service tests.

Every builder makes unique values (uuid suffix): the database is shared by the whole session.
SQL probes ("nothing written", recorded events) are in probes.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api
from erp.billing.v1 import billing_service_pb2_grpc as api_grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.grpc_errors import field_violations

Stub = api_grpc.BillingServiceStub
Code = grpc.StatusCode

FIXED_NOW = datetime(2025, 6, 16, 12, 0, tzinfo=UTC)
TODAY = FIXED_NOW.date()


def tag() -> str:
    return uuid.uuid4().hex[:10]


def email(prefix: str = "cust") -> str:
    return f"{prefix}-{tag()}@example.com"


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def day(value: date) -> Date:
    return Date(year=value.year, month=value.month, day=value.day)


def days(n: int) -> date:
    """TODAY plus n days (n may be negative)."""
    return TODAY + timedelta(days=n)


def as_date(value: Date) -> date:
    return date(value.year, value.month, value.day)


def mask(*paths: str) -> FieldMask:
    return FieldMask(paths=list(paths))


def line(description: str = "Consulting", quantity: str = "1", unit_price: str = "100.00") -> api.InvoiceLineInput:
    return api.InvoiceLineInput(description=description, quantity=dec(quantity), unit_price=dec(unit_price))


# ---- gRPC builders ---------------------------------------------------------------------------


def customer_request(**overrides: Any) -> api.CreateCustomerRequest:
    values: dict[str, Any] = {
        "name": f"Acme {tag()}",
        "email": email(),
        "phone": "+1 555 0100",
        "address": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62701",
        "country": "US",
        "credit_limit": dec("100000.00"),
    }
    values.update(overrides)
    return api.CreateCustomerRequest(**values)


async def create_customer(stub: Stub, **overrides: Any) -> pb.Customer:
    return (await stub.CreateCustomer(customer_request(**overrides))).customer


def invoice_request(customer_id: str, **overrides: Any) -> api.CreateInvoiceRequest:
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "invoice_date": day(TODAY),
        "due_date": day(days(30)),
        "tax_amount": dec("10.00"),
        "notes": "Thank you",
        "lines": [line()],
    }
    values.update(overrides)
    return api.CreateInvoiceRequest(**values)


async def create_invoice(stub: Stub, customer_id: str, **overrides: Any) -> pb.Invoice:
    return (await stub.CreateInvoice(invoice_request(customer_id, **overrides))).invoice


async def issue(stub: Stub, invoice: pb.Invoice) -> pb.Invoice:
    return (await stub.IssueInvoice(api.IssueInvoiceRequest(id=invoice.id, version=invoice.version))).invoice


async def issued_invoice(
    stub: Stub, customer_id: str | None = None, *, lines: Sequence[api.InvoiceLineInput] | None = None, **kw: Any
) -> pb.Invoice:
    """A SENT invoice (for a new customer unless one is given); default total 110.00 (100 + 10 tax)."""
    if customer_id is None:
        customer_id = (await create_customer(stub)).id
    draft = await create_invoice(stub, customer_id, lines=list(lines or [line()]), **kw)
    return await issue(stub, draft)


async def pay(stub: Stub, invoice: pb.Invoice, amount: str, **kw: Any) -> api.RecordPaymentResponse:
    values: dict[str, Any] = {
        "invoice_id": invoice.id,
        "payment_date": day(TODAY),
        "amount": dec(amount),
        "payment_method": pb.PAYMENT_METHOD_BANK_TRANSFER,
        "reference": "TRX-1",
    }
    values.update(kw)
    return await stub.RecordPayment(api.RecordPaymentRequest(**values))  # type: ignore[no-any-return]


async def credit(
    stub: Stub, invoice: pb.Invoice, amount: str, tax: str = "0", **kw: Any
) -> api.IssueCreditNoteResponse:
    values: dict[str, Any] = {
        "invoice_id": invoice.id,
        "issue_date": day(TODAY),
        "amount": dec(amount),
        "tax_amount": dec(tax),
        "reason": "damaged goods",
    }
    values.update(kw)
    return await stub.IssueCreditNote(api.IssueCreditNoteRequest(**values))  # type: ignore[no-any-return]


async def get_invoice(stub: Stub, invoice_id: str) -> pb.Invoice:
    return (await stub.GetInvoice(api.GetInvoiceRequest(id=invoice_id))).invoice


async def get_customer(stub: Stub, customer_id: str) -> pb.Customer:
    return (await stub.GetCustomer(api.GetCustomerRequest(id=customer_id))).customer


# ---- error assertions ------------------------------------------------------------------------


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


def assert_violation(err: grpc.aio.AioRpcError, name: str) -> None:
    """A BadRequest violation names `name` exactly."""
    assert name in violation_fields(err), (name, field_violations(err))
