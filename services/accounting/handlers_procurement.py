"""Postings requested by procurement events (source_service "procurement").

PurchaseOrderReceived (one event per receipt): Dr 1300 Inventory / Cr 2050 Goods Received Not
Invoiced for the goods value of the receipt, the sum of its lines' `amount` (units accepted x
unit cost; rejected units carry no value). The event's `total_amount` is that same sum and is
checked against it; its `tax_amount` and `shipping_cost` (the receipt's share of the order's tax
and shipping) are NOT posted: they are not part of the goods' value until the vendor's invoice
is matched against the receipt, and no event carries that invoice yet.

Posting key `procurement.receipt:<purchase order id>:<version>` (each receipt raises the order's
version, so every receipt has its own key and a repeated event for the same receipt posts once).
A receipt with no accepted value (everything rejected) posts nothing. Date: receipt_date;
department: requesting_department; source_id: the purchase order (procurement links the first
posting as the order's accounting_transaction_id); reference: the PO number.
"""

from __future__ import annotations

from erp.procurement.v1 import events_pb2 as procurement_ev

from services.accounting import chart, domain
from services.accounting.handlers import NothingToPost, PostingRequest, money, posting_handler
from services.runtime.consumer import Handler
from services.runtime.convert import date_from_pb, uuid_from_str
from services.runtime.errors import InvalidArgument
from services.runtime.service import ServiceDeps

SOURCE = "procurement"
PURCHASE_ORDER_RECEIVED = "erp.procurement.v1.PurchaseOrderReceived"


def receipt_key(purchase_order_id: str, version: int) -> str:
    return f"procurement.receipt:{purchase_order_id}:{version}"


def goods_received(msg: procurement_ev.PurchaseOrderReceived) -> PostingRequest:
    """Dr Inventory = Cr Goods Received Not Invoiced (accepted units x unit cost)."""
    key = receipt_key(msg.purchase_order_id, msg.version)
    reference = (msg.po_number or key)[:100]

    def draft() -> domain.Draft:
        order_id = uuid_from_str(msg.purchase_order_id, "purchase_order_id")
        if msg.version <= 0:
            raise InvalidArgument.field("version", "must be positive (it names the receipt)")
        received_on = date_from_pb(msg.receipt_date, "receipt_date")
        assert received_on is not None
        value = sum(
            (money(line.amount, f"lines[{i}].amount") for i, line in enumerate(msg.lines)),
            domain.ZERO,
        )
        stated = money(msg.total_amount, "total_amount", required=False)
        if msg.total_amount.value and stated != value:
            raise InvalidArgument.field("total_amount", f"is {stated} but the receipt's lines amount to {value}")
        if value == 0:
            raise NothingToPost(f"receipt of {reference} has no accepted value")
        units = sum(line.quantity_received for line in msg.lines)
        return domain.Draft(
            entry_date=received_on,
            lines=(
                domain.DraftLine(chart.INVENTORY, debit=value, description=f"{units} units received"),
                domain.DraftLine(chart.GOODS_RECEIVED_NOT_INVOICED, credit=value, description="Not invoiced yet"),
            ),
            description=f"Goods received on {reference} (receipt, order version {msg.version})"[:2000],
            reference=reference,
            department=msg.requesting_department[:100] or None,
            source_service=SOURCE,
            source_id=order_id,
            posting_key=key,
        )

    return PostingRequest(msg.purchase_order_id, reference, draft)


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {PURCHASE_ORDER_RECEIVED: posting_handler(goods_received, deps.clock)}
