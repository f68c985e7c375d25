"""Billing, procurement, inventory and accounting together, through their real gRPC APIs and
events, on databases (`erptest_flows_`) and subjects of their own: a sale (invoice, partial
payment, credit note, and a second invoice issued then cancelled), a purchase received in two
receipts (inventory follows the receipts), a damage write-off and a fulfilled reservation. Then
the ledger must agree with the worked amounts and with inventory's on-hand quantity.

Worked amounts (every document dated today):

  invoice 1      Dr 1200 1080.00 / Cr 4100 1000.00, Cr 2300 80.00
  payment        Dr 1010  500.00 / Cr 1200  500.00
  credit note    Dr 4100  100.00, Dr 2300 8.00 / Cr 1200 108.00
  invoice 2      Dr 1200  270.00 / Cr 4100  250.00, Cr 2300 20.00, then reversed on cancellation
  receipt 1      Dr 1300  500.00 / Cr 2050  500.00   (40 x 12.50)
  receipt 2      Dr 1300  725.00 / Cr 2050  725.00   (58 x 12.50 accepted, 2 rejected)
  damage         Dr 5300   37.50 / Cr 1300   37.50   (3 x 12.50)
  fulfilment     Dr 5100  125.00 / Cr 1300  125.00   (10 x 12.50)

The order's tax (100.00) and shipping (25.00) are not part of the goods received.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import grpc
import pytest
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.billing.v1 import billing_pb2 as bill_pb
from erp.billing.v1 import billing_service_pb2 as bill
from erp.billing.v1 import billing_service_pb2_grpc as bill_grpc
from erp.inventory.v1 import inventory_pb2 as inv_pb
from erp.inventory.v1 import inventory_service_pb2 as inv
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.procurement.v1 import procurement_pb2 as proc_pb
from erp.procurement.v1 import procurement_service_pb2 as proc
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal
from nats.aio.client import Client

from services.accounting import chart
from services.ops.embedded import free_port
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.runtime.helpers import eventually

pytestmark = pytest.mark.slow
NAMES = ("billing", "procurement", "inventory", "accounting")
CREATOR = (("x-erp-user-id", str(uuid.uuid4())),)
APPROVER = (("x-erp-user-id", str(uuid.uuid4())),)
UNIT_COST = "12.50"
FAR_FUTURE = Date(year=9999, month=12, day=31)


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def D(value: PbDecimal) -> Decimal:
    return Decimal(value.value or "0")


@dataclass
class Flows:
    settings: Settings
    nats: Client
    services: dict[str, RunningService]
    channels: dict[str, grpc.aio.Channel]

    def billing(self) -> bill_grpc.BillingServiceStub:
        return bill_grpc.BillingServiceStub(self.channels["billing"])

    def procurement(self) -> proc_grpc.ProcurementServiceStub:
        return proc_grpc.ProcurementServiceStub(self.channels["procurement"])

    def inventory(self) -> inv_grpc.InventoryServiceStub:
        return inv_grpc.InventoryServiceStub(self.channels["inventory"])

    def accounting(self) -> acc_grpc.AccountingServiceStub:
        return acc_grpc.AccountingServiceStub(self.channels["accounting"])

    async def sql(self, service: str, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(to_libpq_url(self.settings.service_database_url(service)))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


@pytest.fixture(scope="module")
async def flows(settings: Settings) -> AsyncIterator[Flows]:
    """Four services on databases and subjects of their own, so nothing else interferes."""
    own = replace(
        settings,
        database_prefix="erptest_flows_",
        subject_root=settings.subject_root + "flows",
        grpc_ports={s: free_port() for s in SERVICES},
    )
    await ensure_databases(own, list(NAMES))
    for name in NAMES:
        await asyncio.to_thread(upgrade, own, name)
    nc = await connect(own.require_nats_url(), "flows-test")
    await ensure_streams(nc.jetstream(), own.subject_root)
    f = Flows(own, nc, {}, {})
    try:
        for name in NAMES:
            f.services[name] = await start_service(load_definition(name), own)
            f.channels[name] = grpc.aio.insecure_channel(own.grpc_address(name))
        yield f
    finally:
        for name in list(f.services):
            await f.services.pop(name).shutdown()
        for ch in f.channels.values():
            await ch.close()
        js = nc.jetstream()
        for stream in [stream_name(own.subject_root, s) for s in SERVICES] + [dlq_stream_name(own.subject_root)]:
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
        await nc.close()


def today() -> Date:
    d = datetime.now(UTC).date()
    return Date(year=d.year, month=d.month, day=d.day)


async def sell(f: Flows) -> tuple[bill_pb.Invoice, bill_pb.Invoice]:
    """Invoice 1 (1000 + 80 tax): issued, 500 paid, 100 + 8 tax credited. Invoice 2 (250 + 20):
    issued, then cancelled."""
    b = f.billing()
    customer = (
        await b.CreateCustomer(
            bill.CreateCustomerRequest(
                name=f"Flows {secrets.token_hex(3)}",
                email=f"ap-{secrets.token_hex(4)}@flows.example",
                city="Springfield",
                country="US",
                credit_limit=dec("100000.00"),
            )
        )
    ).customer

    async def issued(lines: list[bill.InvoiceLineInput], tax: str) -> bill_pb.Invoice:
        draft = (
            await b.CreateInvoice(
                bill.CreateInvoiceRequest(customer_id=customer.id, invoice_date=today(), due_date=today(),
                                          tax_amount=dec(tax), lines=lines)
            )
        ).invoice  # fmt: skip
        return (await b.IssueInvoice(bill.IssueInvoiceRequest(id=draft.id, version=draft.version))).invoice

    first = await issued(
        [
            bill.InvoiceLineInput(description="Consulting", quantity=dec("2"), unit_price=dec("400.00")),
            bill.InvoiceLineInput(description="Travel", quantity=dec("1"), unit_price=dec("200.00")),
        ],
        "80.00",
    )
    assert (D(first.subtotal), D(first.total_amount)) == (Decimal("1000.00"), Decimal("1080.00"))
    await b.RecordPayment(
        bill.RecordPaymentRequest(
            invoice_id=first.id,
            payment_date=today(),
            amount=dec("500.00"),
            payment_method=bill_pb.PAYMENT_METHOD_BANK_TRANSFER,
            reference="TRX-FLOWS",
        )
    )
    await b.IssueCreditNote(
        bill.IssueCreditNoteRequest(
            invoice_id=first.id, issue_date=today(), amount=dec("100.00"), tax_amount=dec("8.00"), reason="late"
        )
    )
    second = await issued(
        [bill.InvoiceLineInput(description="Setup", quantity=dec("1"), unit_price=dec("250.00"))], "20.00"
    )
    await b.CancelInvoice(bill.CancelInvoiceRequest(id=second.id, reason="ordered by mistake"))
    return first, second


async def buy_and_move_stock(f: Flows) -> tuple[str, str]:
    """An item, a PO of 100 received as 40 and then 58 (+2 rejected), 3 damaged, 10 sold.
    Returns (item id, purchase order id)."""
    i, p = f.inventory(), f.procurement()
    sku = f"FLOW-{secrets.token_hex(4)}"
    item = (
        await i.CreateInventoryItem(
            inv.CreateInventoryItemRequest(
                sku=sku,
                name="Flow widget",
                category="widgets",
                quantity_on_hand=0,
                reorder_point=0,
                reorder_quantity=10,
                unit_cost=dec(UNIT_COST),
                unit_price=dec("30.00"),
            ),
            metadata=CREATOR,
        )
    ).inventory_item
    vendor = (
        await p.CreateVendor(
            proc.CreateVendorRequest(
                name=f"Vendor {secrets.token_hex(3)}", email=f"v-{secrets.token_hex(4)}@x.example"
            ),
            metadata=CREATOR,
        )
    ).vendor
    po = (
        await p.CreatePurchaseOrder(
            proc.CreatePurchaseOrderRequest(
                vendor_id=vendor.id,
                order_date=today(),
                expected_delivery_date=today(),
                tax_amount=dec("100.00"),
                shipping_cost=dec("25.00"),
                requesting_department="Warehouse",
                items=[
                    proc.PurchaseOrderItemInput(sku=sku, description="Widget", quantity=100, unit_price=dec(UNIT_COST))
                ],
            ),
            metadata=CREATOR,
        )
    ).purchase_order
    po = (
        await p.ApprovePurchaseOrder(proc.ApprovePurchaseOrderRequest(id=po.id, version=po.version), metadata=APPROVER)
    ).purchase_order
    po = (
        await p.MarkPurchaseOrderOrdered(
            proc.MarkPurchaseOrderOrderedRequest(id=po.id, version=po.version), metadata=CREATOR
        )
    ).purchase_order

    po_id = po.id

    async def current_order() -> proc_pb.PurchaseOrder:
        return (await p.GetPurchaseOrder(proc.GetPurchaseOrderRequest(id=po_id))).purchase_order

    async def receive(received: int, rejected: int) -> None:
        po = await current_order()
        line = proc.ReceiptLineInput(
            purchase_order_item_id=po.items[0].id, quantity_received=received, quantity_rejected=rejected
        )
        request = proc.ReceivePurchaseOrderRequest(id=po.id, version=po.version, receipt_date=today(), lines=[line])
        await p.ReceivePurchaseOrder(request, metadata=APPROVER)

    async def on_hand(expected: int) -> bool:
        current = (await i.GetInventoryItem(inv.GetInventoryItemRequest(id=item.id))).inventory_item
        return current.quantity_on_hand == expected

    async def linked() -> bool:
        return bool((await current_order()).accounting_transaction_id)

    await receive(40, 0)  # partial
    await eventually(lambda: on_hand(40), timeout_s=30)
    # Procurement links the first receipt's posting to the order (raising its version): wait for
    # it, so that the second receipt does not race the link.
    await eventually(linked, timeout_s=30)
    await receive(58, 2)  # the rest: the order is fully received
    await eventually(lambda: on_hand(98), timeout_s=30)
    await i.AdjustStock(
        inv.AdjustStockRequest(
            item_id=item.id, movement_type=inv_pb.STOCK_MOVEMENT_TYPE_DAMAGE, quantity=-3, reason="dropped"
        ),
        metadata=CREATOR,
    )
    order_id = str(uuid.uuid4())
    reserve = inv.ReserveStockRequest(item_id=item.id, quantity=10, order_id=order_id)
    reservation = (await i.ReserveStock(reserve, metadata=CREATOR)).reservation
    await i.FulfilReservation(inv.FulfilReservationRequest(id=reservation.id), metadata=CREATOR)
    return item.id, po_id


ENTRY_COUNT = 9  # invoice 1, payment, credit note, invoice 2, its reversal, 2 receipts, damage, fulfilment

EXPECTED_BALANCES = {
    chart.CASH: Decimal("500.00"),
    chart.ACCOUNTS_RECEIVABLE: Decimal("472.00"),  # 1080 - 500 - 108 (+ 270 - 270)
    chart.INVENTORY: Decimal("1062.50"),  # 500 + 725 - 37.50 - 125
    chart.GOODS_RECEIVED_NOT_INVOICED: Decimal("1225.00"),
    chart.SALES_TAX_PAYABLE: Decimal("72.00"),  # 80 - 8 (+ 20 - 20)
    chart.SALES_REVENUE: Decimal("900.00"),  # 1000 - 100 (+ 250 - 250)
    chart.COST_OF_GOODS_SOLD: Decimal("125.00"),
    chart.STOCK_ADJUSTMENT: Decimal("37.50"),
}


async def test_a_mixed_day_of_business_balances_the_ledger(flows: Flows) -> None:
    (first, second), (item_id, po_id) = await asyncio.gather(sell(flows), buy_and_move_stock(flows))

    async def all_posted() -> bool:
        rows = await flows.sql("accounting", "SELECT count(*) AS n FROM journal_entries")
        return bool(rows[0]["n"] >= ENTRY_COUNT)

    await eventually(all_posted, timeout_s=60)
    await asyncio.sleep(0.5)  # anything beyond the expected entries would show up now
    entries = await flows.sql(
        "accounting", "SELECT source_service, posting_key, status FROM journal_entries ORDER BY journal_number"
    )
    keys = sorted(str(e["posting_key"]).split(":")[0] for e in entries)
    assert keys == sorted(
        ["billing.invoice"] * 2
        + ["billing.payment", "billing.credit-note", "billing.invoice-cancel"]
        + ["procurement.receipt"] * 2
        + ["inventory.adjustment", "inventory.cogs"]
    )
    assert [e["status"] for e in entries if e["posting_key"] == f"billing.invoice:{second.id}"] == ["reversed"]
    rejections = await flows.sql("accounting", "SELECT count(*) AS n FROM outbox WHERE event_type LIKE '%Rejected'")
    assert rejections[0]["n"] == 0

    a = flows.accounting()
    trial = (await a.GetTrialBalance(acc.GetTrialBalanceRequest(as_of_date=FAR_FUTURE))).trial_balance
    assert trial.balanced
    assert D(trial.total_debit) == D(trial.total_credit)
    assert sum(D(x.debit_balance) - D(x.credit_balance) for x in trial.lines) == 0
    balances = {}
    for code in EXPECTED_BALANCES:
        request = acc.GetAccountBalanceRequest(account_code=code, as_of_date=FAR_FUTURE)
        balances[code] = D((await a.GetAccountBalance(request)).balance.balance)
    assert balances == EXPECTED_BALANCES

    # Inventory's quantities agree: receipts minus damage minus fulfilment, valued at unit cost.
    item = (await flows.inventory().GetInventoryItem(inv.GetInventoryItemRequest(id=item_id))).inventory_item
    assert item.quantity_on_hand == 40 + 58 - 3 - 10
    assert (item.quantity_reserved, item.quantity_on_order) == (0, 0)
    assert Decimal(item.quantity_on_hand) * D(item.unit_cost) == EXPECTED_BALANCES[chart.INVENTORY]

    # The requesting services linked their documents to the postings.
    async def linked() -> bool:
        invoice = (await flows.billing().GetInvoice(bill.GetInvoiceRequest(id=first.id))).invoice
        order = (await flows.procurement().GetPurchaseOrder(proc.GetPurchaseOrderRequest(id=po_id))).purchase_order
        return bool(invoice.accounting_transaction_id and order.accounting_transaction_id)

    await eventually(linked, timeout_s=30)
    invoice_entry = await flows.sql(
        "accounting", "SELECT id FROM journal_entries WHERE posting_key = $1", f"billing.invoice:{first.id}"
    )
    invoice = (await flows.billing().GetInvoice(bill.GetInvoiceRequest(id=first.id))).invoice
    assert invoice.accounting_transaction_id == str(invoice_entry[0]["id"])
    receipts = await flows.sql(
        "accounting",
        "SELECT id, department FROM journal_entries WHERE source_service = 'procurement' AND source_id = $1 "
        "ORDER BY journal_number",
        uuid.UUID(po_id),
    )
    assert [r["department"] for r in receipts] == ["Warehouse", "Warehouse"]
    order = (await flows.procurement().GetPurchaseOrder(proc.GetPurchaseOrderRequest(id=po_id))).purchase_order
    assert order.accounting_transaction_id == str(receipts[0]["id"])  # the first receipt's posting
