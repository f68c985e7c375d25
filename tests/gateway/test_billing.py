"""Billing through the gateway: customers and invoices (create, issue, pay, cancel), batched
customers -> invoices -> payments, entities, and inventory reservations' customers."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api
from erp.billing.v1 import billing_service_pb2_grpc as bill_grpc
from erp.inventory.v1 import inventory_service_pb2 as inv
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from tests.gateway.support import Gql, tag
from tests.runtime.helpers import eventually

TODAY = date.today()
CUSTOMER = "id name email creditLimit currentBalance status version"
INVOICE = """id invoiceNumber status subtotal taxAmount totalAmount paidAmount amountDue version
  customer { id name } lines { lineNumber description quantity unitPrice amount }"""
CREATE_CUSTOMER = f"mutation($i: CreateCustomerInput!) {{ createCustomer(input: $i) {{ {CUSTOMER} }} }}"
UPDATE_CUSTOMER = f"mutation($i: UpdateCustomerInput!) {{ updateCustomer(input: $i) {{ {CUSTOMER} }} }}"
CREATE_INVOICE = f"mutation($i: CreateInvoiceInput!) {{ createInvoice(input: $i) {{ {INVOICE} }} }}"
ISSUE = "mutation($i: InvoiceVersionInput!) { issueInvoice(input: $i) { id status version issuedAt } }"
CANCEL = "mutation($i: CancelInvoiceInput!) { cancelInvoice(input: $i) { id status notes } }"
PAY = """mutation($i: RecordPaymentInput!) { recordPayment(input: $i) {
  payment { amount paymentMethod paymentDate invoice { invoiceNumber } }
  invoice { status paidAmount amountDue version } } }"""


def pb_date(value: date) -> Date:
    return Date(year=value.year, month=value.month, day=value.day)


async def customers(stub: bill_grpc.BillingServiceStub, prefix: str, count: int, invoices: int) -> list[Any]:
    """`count` customers with `invoices` issued invoices each, each paid 10.00."""
    out = []
    for c in range(count):
        request = api.CreateCustomerRequest(
            name=f"{prefix} {c:03d}", email=f"c{c}-{tag()}@example.com", credit_limit=PbDecimal(value="10000.00")
        )
        customer = (await stub.CreateCustomer(request)).customer
        for _ in range(invoices):
            invoice = await stub.CreateInvoice(
                api.CreateInvoiceRequest(
                    customer_id=customer.id,
                    invoice_date=pb_date(TODAY - timedelta(days=5)),
                    due_date=pb_date(TODAY + timedelta(days=25)),
                    lines=[
                        api.InvoiceLineInput(
                            description="Work", quantity=PbDecimal(value="2"), unit_price=PbDecimal(value="50.00")
                        )
                    ],
                )
            )
            issued = await stub.IssueInvoice(
                api.IssueInvoiceRequest(id=invoice.invoice.id, version=invoice.invoice.version)
            )
            await stub.RecordPayment(
                api.RecordPaymentRequest(
                    invoice_id=issued.invoice.id,
                    version=issued.invoice.version,
                    payment_date=pb_date(TODAY),
                    amount=PbDecimal(value="10.00"),
                    payment_method=pb.PAYMENT_METHOD_CASH,
                )
            )
        out.append(customer)
    return out


def invoice_input(customer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "customerId": customer_id,
        "invoiceDate": (TODAY - timedelta(days=3)).isoformat(),
        "dueDate": (TODAY + timedelta(days=27)).isoformat(),
        "taxAmount": "8.00",
        "lines": [
            {"description": "Consulting", "quantity": "3", "unitPrice": "20.00"},
            {"description": "Travel", "quantity": "1", "unitPrice": "20.00"},
        ],
        **overrides,
    }


async def test_customers_create_and_update(gql: Gql, billing: bill_grpc.BillingServiceStub) -> None:
    email = f"acme-{tag()}@example.com"
    created = await gql.data(CREATE_CUSTOMER, {"i": {"name": "Acme", "email": email, "creditLimit": "5000.00"}})
    customer = created["createCustomer"]
    assert {k: customer[k] for k in ("name", "email", "creditLimit", "currentBalance", "status", "version")} == {
        "name": "Acme",
        "email": email,
        "creditLimit": "5000.00",
        "currentBalance": "0.00",
        "status": "ACTIVE",
        "version": 1,
    }
    bad = await gql.error(CREATE_CUSTOMER, {"i": {"name": "Acme", "email": "nope", "creditLimit": "1.00"}})
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad["extensions"]["service"] == "billing"

    change = {"id": customer["id"], "version": 1, "creditLimit": "7500.00", "status": "SUSPENDED"}
    updated = (await gql.data(UPDATE_CUSTOMER, {"i": change}))["updateCustomer"]
    assert (updated["creditLimit"], updated["status"], updated["version"]) == ("7500.00", "SUSPENDED", 2)
    stale = await gql.error(UPDATE_CUSTOMER, {"i": change})
    assert stale["extensions"]["code"] == "CONFLICT"


async def test_invoice_lifecycle(gql: Gql, billing: bill_grpc.BillingServiceStub) -> None:
    [customer] = await customers(billing, f"Lifecycle {tag()}", 1, 0)
    invoice = (await gql.data(CREATE_INVOICE, {"i": invoice_input(customer.id)}))["createInvoice"]
    assert (invoice["status"], invoice["subtotal"], invoice["totalAmount"], invoice["customer"]["id"]) == (
        "PENDING",
        "80.00",
        "88.00",
        customer.id,
    )
    assert [line["amount"] for line in invoice["lines"]] == ["60.00", "20.00"]
    unknown = await gql.error(CREATE_INVOICE, {"i": invoice_input(str(uuid.uuid4()))})
    assert unknown["extensions"]["code"] == "NOT_FOUND"

    issued = (await gql.data(ISSUE, {"i": {"id": invoice["id"], "version": invoice["version"]}}))["issueInvoice"]
    assert issued["status"] == "SENT"
    assert issued["issuedAt"]
    again = await gql.error(ISSUE, {"i": {"id": invoice["id"], "version": issued["version"]}})
    assert again["extensions"]["code"] == "FAILED_PRECONDITION"

    async def linked() -> dict[str, Any] | None:
        """The invoice's journal entry once accounting posted it and billing linked it."""
        data = await gql.data(
            """query($id: ID!) { invoice(id: $id) {
              journalEntry { sourceService totalDebit source { ... on Invoice { id invoiceNumber } } } } }""",
            {"id": invoice["id"]},
        )
        entry: dict[str, Any] | None = data["invoice"]["journalEntry"]
        return entry

    entry = await eventually(linked, timeout_s=30, interval_s=0.2)
    assert entry == {
        "sourceService": "billing",
        "totalDebit": "88.00",
        "source": {"id": invoice["id"], "invoiceNumber": invoice["invoiceNumber"]},
    }
    current = (await gql.data("query($id: ID!) { invoice(id: $id) { version } }", {"id": invoice["id"]}))["invoice"]

    payment = {
        "invoiceId": invoice["id"],
        "version": current["version"],
        "paymentDate": TODAY.isoformat(),
        "amount": "30.00",
        "paymentMethod": "BANK_TRANSFER",
    }
    too_much = await gql.error(PAY, {"i": {**payment, "amount": "88.01"}})
    assert too_much["extensions"]["code"] == "BAD_USER_INPUT"
    paid = (await gql.data(PAY, {"i": payment}))["recordPayment"]
    assert paid["payment"] == {
        "amount": "30.00",
        "paymentMethod": "BANK_TRANSFER",
        "paymentDate": TODAY.isoformat(),
        "invoice": {"invoiceNumber": invoice["invoiceNumber"]},
    }
    paid_invoice = paid["invoice"]
    assert paid_invoice == {
        "status": "PARTIALLY_PAID",
        "paidAmount": "30.00",
        "amountDue": "58.00",
        "version": paid_invoice["version"],
    }

    draft = (await gql.data(CREATE_INVOICE, {"i": invoice_input(customer.id)}))["createInvoice"]
    cancelled = await gql.data(CANCEL, {"i": {"id": draft["id"], "version": draft["version"], "reason": "typo"}})
    assert cancelled["cancelInvoice"]["status"] == "CANCELLED"
    refused = await gql.error(CANCEL, {"i": {"id": invoice["id"], "version": paid_invoice["version"], "reason": "x"}})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "payments" in refused["message"]


async def test_customers_invoices_payments_cost_one_rpc_per_level(
    gql: Gql, billing: bill_grpc.BillingServiceStub
) -> None:
    prefix = f"Batch {tag()}"
    created = await customers(billing, prefix, 5, 2)
    query = """query($q: String!) { customers(filter: {query: $q}, first: 50) { totalCount edges { node {
      name invoices(first: 10) { totalCount edges { node { invoiceNumber totalAmount amountDue customer { name }
        lines { amount }
        payments(first: 10) { edges { node { amount paymentMethod invoice { invoiceNumber } } } } } } } } } } }"""

    data, rpcs = await gql.counted(query, {"q": prefix})

    assert rpcs == {"ListCustomers": 1, "ListInvoices": 1, "ListPayments": 1}
    nodes = [e["node"] for e in data["customers"]["edges"]]
    assert [n["name"] for n in nodes] == [c.name for c in created]
    for node in nodes:
        invoices = [e["node"] for e in node["invoices"]["edges"]]
        assert node["invoices"]["totalCount"] == 2
        for invoice in invoices:
            assert invoice["customer"] == {"name": node["name"]}
            assert (invoice["totalAmount"], invoice["amountDue"]) == ("100.00", "90.00")
            [payment] = [e["node"] for e in invoice["payments"]["edges"]]
            assert payment == {
                "amount": "10.00",
                "paymentMethod": "CASH",
                "invoice": {"invoiceNumber": invoice["invoiceNumber"]},
            }


async def test_entities_and_reservation_customers(
    gql: Gql, billing: bill_grpc.BillingServiceStub, inventory: inv_grpc.InventoryServiceStub
) -> None:
    created = await customers(billing, f"Entities {tag()}", 4, 1)
    listed = await billing.ListInvoices(api.ListInvoicesRequest(customer_ids=[c.id for c in created]))
    representations = [{"__typename": "Customer", "id": c.id} for c in created] + [
        {"__typename": "Invoice", "id": i.id} for i in listed.invoices
    ]
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Customer { name } ... on Invoice { invoiceNumber } } }"""

    data, rpcs = await gql.counted(query, {"r": representations})

    assert rpcs == {"BatchGetCustomers": 1, "BatchGetInvoices": 1}
    assert [e.get("name") for e in data["_entities"][:4]] == [c.name for c in created]
    assert [e["invoiceNumber"] for e in data["_entities"][4:]] == [i.invoice_number for i in listed.invoices]

    item = (
        await inventory.CreateInventoryItem(
            inv.CreateInventoryItemRequest(
                sku=f"GWC-{tag()}",
                name="Gadget",
                category="Gateway",
                quantity_on_hand=20,
                reorder_point=1,
                reorder_quantity=5,
                unit_cost=PbDecimal(value="1.00"),
                unit_price=PbDecimal(value="2.00"),
            )
        )
    ).inventory_item
    for customer in created:
        await inventory.ReserveStock(
            inv.ReserveStockRequest(item_id=item.id, quantity=1, order_id=str(uuid.uuid4()), customer_id=customer.id)
        )
    reservations = """query($id: ID!) { inventoryItem(id: $id) {
      reservations { edges { node { customer { name currentBalance } } } } } }"""

    data, rpcs = await gql.counted(reservations, {"id": item.id})

    assert rpcs == {"GetInventoryItem": 1, "ListReservations": 1, "BatchGetCustomers": 1}
    names = {e["node"]["customer"]["name"] for e in data["inventoryItem"]["reservations"]["edges"]}
    assert names == {c.name for c in created}
    assert {
        Decimal(e["node"]["customer"]["currentBalance"]) for e in data["inventoryItem"]["reservations"]["edges"]
    } == {Decimal("90.00")}
