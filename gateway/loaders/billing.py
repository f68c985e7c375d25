"""Loaders over the billing service: customers and invoices by id, the invoices of customers
and the payments of invoices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, grouped


@dataclass
class BillingLoaders:
    clients: Clients
    customers: DataLoader[str, pb.Customer | None] = field(init=False)
    invoices: DataLoader[str, pb.Invoice | None] = field(init=False)
    customer_invoices: DataLoader[str, list[pb.Invoice]] = field(init=False)
    invoice_payments: DataLoader[str, list[pb.Payment]] = field(init=False)

    def __post_init__(self) -> None:
        self.customers = by_key(self._customers, lambda c: c.id)
        self.invoices = by_key(self._invoices, lambda i: i.id)
        self.customer_invoices = grouped(self._invoices_of_customers, lambda i: i.customer_id)
        self.invoice_payments = grouped(self._payments_of_invoices, lambda p: p.invoice_id)

    def invoices_changed(self) -> None:
        self.customer_invoices.clear_all()
        self.invoice_payments.clear_all()

    async def _customers(self, ids: list[str]) -> Sequence[pb.Customer]:
        request = api.BatchGetCustomersRequest(ids=ids)
        return (await self.clients.billing.call(lambda s: s.BatchGetCustomers(request))).customers

    async def _invoices(self, ids: list[str]) -> Sequence[pb.Invoice]:
        """With their lines."""
        request = api.BatchGetInvoicesRequest(ids=ids)
        return (await self.clients.billing.call(lambda s: s.BatchGetInvoices(request))).invoices

    async def _invoices_of_customers(self, customer_ids: list[str], token: str) -> Page[pb.Invoice]:
        request = api.ListInvoicesRequest(customer_ids=customer_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.billing.call(lambda s: s.ListInvoices(request))
        self.invoices.prime_many({i.id: i for i in response.invoices})
        return response.invoices, response.next_page_token

    async def _payments_of_invoices(self, invoice_ids: list[str], token: str) -> Page[pb.Payment]:
        request = api.ListPaymentsRequest(invoice_ids=invoice_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.billing.call(lambda s: s.ListPayments(request))
        return response.payments, response.next_page_token
