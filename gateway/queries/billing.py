"""Root query fields over the billing service: customers and invoices."""

from __future__ import annotations

from datetime import date

import strawberry
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.customer import CUSTOMER_STATUS, Customer, CustomerStatus
from gateway.types.invoice import INVOICE_STATUS, Invoice, InvoiceStatus
from services.runtime.convert import date_to_pb


@strawberry.input(description="Customers matching all the given criteria.")
class CustomerFilter:
    statuses: list[CustomerStatus] | None = None
    query: str | None = strawberry.field(default=None, description="Case-insensitive match on name or e-mail.")
    over_credit_limit: bool | None = None


@strawberry.input(description="Invoices matching all the given criteria.")
class InvoiceFilter:
    customer_ids: list[strawberry.ID] | None = None
    statuses: list[InvoiceStatus] | None = None
    invoice_date_from: date | None = None
    invoice_date_to: date | None = None
    due_date_from: date | None = None
    due_date_to: date | None = None
    invoice_number: str | None = None


@strawberry.type
class BillingQueries:
    @strawberry.field(description="One customer; NOT_FOUND when the id names none.")
    async def customer(self, info: GatewayInfo, id: strawberry.ID) -> Customer | None:
        request = api.GetCustomerRequest(id=id)
        customer = (await info.context.clients.billing.call(lambda s: s.GetCustomer(request))).customer
        info.context.loaders.remember([customer])
        return Customer.from_proto(customer)

    @strawberry.field(description="Customers (the billing service's order).")
    async def customers(
        self,
        info: GatewayInfo,
        filter: CustomerFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Customer]:
        f = filter or CustomerFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Customer]:
            request = api.ListCustomersRequest(
                page_size=size,
                page_token=token,
                statuses=CUSTOMER_STATUS.to_pb_list(f.statuses),
                query=f.query or "",
                over_credit_limit=bool(f.over_credit_limit),
            )
            response = await info.context.clients.billing.call(lambda s: s.ListCustomers(request))
            info.context.loaders.remember(response.customers)
            return ServicePage(response.customers, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Customer.from_proto, first, after)

    @strawberry.field(description="One invoice with its lines; NOT_FOUND when the id names none.")
    async def invoice(self, info: GatewayInfo, id: strawberry.ID) -> Invoice | None:
        request = api.GetInvoiceRequest(id=id)
        invoice = (await info.context.clients.billing.call(lambda s: s.GetInvoice(request))).invoice
        info.context.loaders.remember([invoice])
        return Invoice.from_proto(invoice)

    @strawberry.field(description="Invoices with their lines (the billing service's order).")
    async def invoices(
        self,
        info: GatewayInfo,
        filter: InvoiceFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Invoice]:
        f = filter or InvoiceFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Invoice]:
            request = api.ListInvoicesRequest(
                page_size=size,
                page_token=token,
                customer_ids=list(f.customer_ids or ()),
                statuses=INVOICE_STATUS.to_pb_list(f.statuses),
                invoice_date_from=date_to_pb(f.invoice_date_from),
                invoice_date_to=date_to_pb(f.invoice_date_to),
                due_date_from=date_to_pb(f.due_date_from),
                due_date_to=date_to_pb(f.due_date_to),
                invoice_number=f.invoice_number or "",
            )
            response = await info.context.clients.billing.call(lambda s: s.ListInvoices(request))
            info.context.loaders.remember(response.invoices)
            return ServicePage(response.invoices, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Invoice.from_proto, first, after)
