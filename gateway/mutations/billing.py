"""Billing commands: customers (create, change) and invoices (create, issue, cancel, pay)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.types.customer import CUSTOMER_STATUS, Customer, CustomerStatus
from gateway.types.invoice import Invoice
from gateway.types.payment import PAYMENT_METHOD, Payment, PaymentMethod
from gateway.wire import fill, provided
from services.runtime.convert import date_to_pb, decimal_to_pb

UNSET = strawberry.UNSET


@strawberry.input
class CreateCustomerInput:
    name: str
    email: str = strawberry.field(description="Unique billing e-mail.")
    credit_limit: Decimal | None = strawberry.field(default=None, description="Zero when omitted.")
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None


@strawberry.input(description="Only the fields given change (null clears an optional one); `version` as last read.")
class UpdateCustomerInput:
    id: strawberry.ID
    version: int
    name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    address: str | None = UNSET
    city: str | None = UNSET
    state: str | None = UNSET
    zip_code: str | None = UNSET
    country: str | None = UNSET
    credit_limit: Decimal | None = UNSET
    status: CustomerStatus | None = UNSET


@strawberry.input
class InvoiceLineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal


@strawberry.input(description="A PENDING (draft) invoice; issue it to bill the customer.")
class CreateInvoiceInput:
    customer_id: strawberry.ID
    due_date: date
    lines: list[InvoiceLineInput]
    invoice_date: date | None = strawberry.field(default=None, description="Today when omitted.")
    tax_amount: Decimal | None = None
    notes: str | None = None


@strawberry.input
class InvoiceVersionInput:
    id: strawberry.ID
    version: int


@strawberry.input
class CancelInvoiceInput:
    id: strawberry.ID
    version: int
    reason: str


@strawberry.input
class RecordPaymentInput:
    invoice_id: strawberry.ID
    version: int
    payment_date: date
    amount: Decimal
    payment_method: PaymentMethod
    reference: str | None = None
    notes: str | None = None


@strawberry.type
class RecordPaymentPayload:
    payment: Payment
    invoice: Invoice = strawberry.field(description="The invoice after the payment.")


def _customer(info: GatewayInfo, customer: pb.Customer) -> Customer:
    info.context.loaders.remember([customer], changed=True)
    return Customer.from_proto(customer)


def _invoice(info: GatewayInfo, invoice: pb.Invoice) -> Invoice:
    info.context.loaders.remember([invoice], changed=True)
    info.context.loaders.billing.invoices_changed()
    return Invoice.from_proto(invoice)


@strawberry.type
class BillingMutations:
    @strawberry.mutation(description="Creates a customer (ACTIVE).")
    async def create_customer(self, info: GatewayInfo, input: CreateCustomerInput) -> Customer | None:
        request = api.CreateCustomerRequest()
        fill(request, provided(input))
        response = await info.context.clients.billing.call(lambda s: s.CreateCustomer(request))
        return _customer(info, response.customer)

    @strawberry.mutation(description="Changes the given fields; CONFLICT when `version` is stale.")
    async def update_customer(self, info: GatewayInfo, input: UpdateCustomerInput) -> Customer | None:
        values = provided(input, exclude=frozenset({"id", "version"}))
        if not values:
            raise bad_input("input", "name at least one field to change")
        if values.get("status") is not None:
            values["status"] = CUSTOMER_STATUS.to_pb(values["status"])
        customer = pb.Customer(id=input.id)
        fill(customer, values)
        request = api.UpdateCustomerRequest(
            customer=customer, update_mask=FieldMask(paths=list(values)), version=input.version
        )
        response = await info.context.clients.billing.call(lambda s: s.UpdateCustomer(request))
        return _customer(info, response.customer)

    @strawberry.mutation(description="Creates a PENDING invoice.")
    async def create_invoice(self, info: GatewayInfo, input: CreateInvoiceInput) -> Invoice | None:
        request = api.CreateInvoiceRequest(
            customer_id=input.customer_id,
            invoice_date=date_to_pb(input.invoice_date),
            due_date=date_to_pb(input.due_date),
            tax_amount=decimal_to_pb(input.tax_amount),
            notes=input.notes or "",
            lines=[
                api.InvoiceLineInput(
                    description=line.description,
                    quantity=decimal_to_pb(line.quantity),
                    unit_price=decimal_to_pb(line.unit_price),
                )
                for line in input.lines
            ],
        )
        response = await info.context.clients.billing.call(lambda s: s.CreateInvoice(request))
        return _invoice(info, response.invoice)

    @strawberry.mutation(description="Sends a PENDING invoice to the customer (SENT); accounting posts the receivable.")
    async def issue_invoice(self, info: GatewayInfo, input: InvoiceVersionInput) -> Invoice | None:
        request = api.IssueInvoiceRequest(id=input.id, version=input.version)
        response = await info.context.clients.billing.call(lambda s: s.IssueInvoice(request))
        return _invoice(info, response.invoice)

    @strawberry.mutation(description="Cancels an invoice without payments; accounting reverses its posting.")
    async def cancel_invoice(self, info: GatewayInfo, input: CancelInvoiceInput) -> Invoice | None:
        request = api.CancelInvoiceRequest(id=input.id, version=input.version, reason=input.reason)
        response = await info.context.clients.billing.call(lambda s: s.CancelInvoice(request))
        return _invoice(info, response.invoice)

    @strawberry.mutation(description="Records a payment against an issued invoice.")
    async def record_payment(self, info: GatewayInfo, input: RecordPaymentInput) -> RecordPaymentPayload | None:
        request = api.RecordPaymentRequest(
            invoice_id=input.invoice_id,
            version=input.version,
            payment_date=date_to_pb(input.payment_date),
            amount=decimal_to_pb(input.amount),
            payment_method=PAYMENT_METHOD.to_pb(input.payment_method),
            reference=input.reference or "",
            notes=input.notes or "",
        )
        response = await info.context.clients.billing.call(lambda s: s.RecordPayment(request))
        return RecordPaymentPayload(
            payment=Payment.from_proto(response.payment), invoice=_invoice(info, response.invoice)
        )
