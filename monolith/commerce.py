"""The non-payroll domains of the data set, as monolith rows (column order = `COLUMNS`):
customers with invoices, lines and payments; vendors with purchase orders and their items;
inventory items with movements and reservations; one budget per department and year."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from monolith.model import DataSet

Row = tuple[Any, ...]
Rows = dict[str, list[Row]]

CITIES = (("Lyon", "ARA"), ("Porto", "PT13"), ("Austin", "TX"), ("Leeds", "WYK"), ("Graz", "ST"))
CATEGORIES = ("raw", "packaging", "spare parts", "office", "finished goods")
COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "name", "email", "city", "state", "country", "credit_limit", "current_balance", "status"),
    "invoices": (
        "id",
        "invoice_number",
        "customer_id",
        "invoice_date",
        "due_date",
        "subtotal",
        "tax_amount",
        "total_amount",
        "paid_amount",
        "status",
    ),
    "invoice_line_items": ("id", "invoice_id", "line_number", "description", "quantity", "unit_price", "amount"),
    "payments": ("id", "invoice_id", "payment_date", "amount", "payment_method", "reference"),
    "vendors": ("id", "name", "email", "city", "country", "payment_terms", "status", "rating"),
    "inventory_items": (
        "id",
        "sku",
        "name",
        "category",
        "quantity_on_hand",
        "quantity_reserved",
        "reorder_point",
        "reorder_quantity",
        "unit_cost",
        "unit_price",
        "warehouse_location",
        "preferred_vendor_id",
    ),
    "purchase_orders": ("id", "po_number", "vendor_id", "order_date", "subtotal", "total_amount", "status"),
    "purchase_order_items": (
        "id",
        "purchase_order_id",
        "line_number",
        "sku",
        "description",
        "quantity",
        "unit_price",
        "amount",
        "quantity_received",
    ),
    "stock_movements": ("id", "item_id", "movement_type", "quantity", "previous_quantity", "new_quantity", "moved_at"),
    "stock_reservations": ("id", "item_id", "quantity", "order_id", "customer_id", "status", "reserved_at"),
    "budgets": (
        "id",
        "department_id",
        "fiscal_year",
        "category",
        "allocated_amount",
        "spent_amount",
        "remaining_amount",
        "start_date",
        "end_date",
    ),
}
TABLE_ORDER = tuple(COLUMNS)  # parents before children


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def billing(rng: random.Random, n_customers: int, start: date) -> Rows:
    customers: list[Row] = []
    invoices: list[Row] = []
    lines: list[Row] = []
    payments: list[Row] = []
    for c in range(n_customers):
        city, state = CITIES[c % len(CITIES)]
        customer = _id(rng)
        customers.append(
            (
                customer,
                f"Customer {c:06d}",
                f"billing{c}@customer.example",
                city,
                state,
                "DE",
                Decimal(50_000),
                Decimal(0),
                "active",
            )
        )
        for k in range(3):
            invoice, day = _id(rng), start + timedelta(days=rng.randrange(0, 300))
            amounts = [_money(rng, 50, 2_000) for _ in range(2)]
            subtotal = sum(amounts, Decimal(0))
            tax = (subtotal * Decimal("0.19")).quantize(Decimal("0.01"))
            paid = k < 2
            invoices.append(
                (
                    invoice,
                    f"INV-{c:06d}-{k}",
                    customer,
                    day,
                    day + timedelta(days=30),
                    subtotal,
                    tax,
                    subtotal + tax,
                    subtotal + tax if paid else Decimal(0),
                    "paid" if paid else "sent",
                )
            )
            for n, amount in enumerate(amounts, start=1):
                lines.append((_id(rng), invoice, n, f"Service {n}", Decimal(1), amount, amount))
            if paid:
                payments.append(
                    (_id(rng), invoice, day + timedelta(days=20), subtotal + tax, "bank_transfer", f"P{c}-{k}")
                )
    return {"customers": customers, "invoices": invoices, "invoice_line_items": lines, "payments": payments}


def supply(rng: random.Random, n_vendors: int, n_items: int, start: date) -> Rows:
    vendors = [
        (
            _id(rng),
            f"Vendor {v:05d}",
            f"sales{v}@vendor.example",
            CITIES[v % 5][0],
            "DE",
            "Net 30",
            "active",
            Decimal(rng.randrange(250, 500)) / 100,
        )
        for v in range(n_vendors)
    ]
    items: list[Row] = []
    movements: list[Row] = []
    for i in range(n_items):
        item, cost = _id(rng), _money(rng, 2, 400)
        on_hand = rng.randrange(0, 500)
        items.append(
            (
                item,
                f"SKU-{i:07d}",
                f"Item {i}",
                CATEGORIES[i % 5],
                on_hand,
                0,
                20,
                100,
                cost,
                (cost * Decimal("1.4")).quantize(Decimal("0.01")),
                f"A{i % 40:02d}",
                vendors[i % n_vendors][0],
            )
        )
        moved = datetime.combine(start, time(8))
        movements.append((_id(rng), item, "receipt", on_hand + 10, 0, on_hand + 10, moved))
        movements.append((_id(rng), item, "adjustment", -10, on_hand + 10, on_hand, moved + timedelta(days=30)))
    orders: list[Row] = []
    order_items: list[Row] = []
    for v, vendor in enumerate(vendors):
        for k in range(2):
            order, picked = _id(rng), [items[rng.randrange(n_items)] for _ in range(2)]
            amounts = [item[8] * 50 for item in picked]
            orders.append(
                (
                    order,
                    f"PO-{v:05d}-{k}",
                    vendor[0],
                    start + timedelta(days=7 * k),
                    sum(amounts),
                    sum(amounts),
                    "received",
                )
            )
            for n, (picked_item, amount) in enumerate(zip(picked, amounts, strict=True), start=1):
                order_items.append((_id(rng), order, n, picked_item[1], picked_item[2], 50, picked_item[8], amount, 50))
    return {
        "vendors": vendors,
        "inventory_items": items,
        "purchase_orders": orders,
        "purchase_order_items": order_items,
        "stock_movements": movements,
    }


def generate(rng: random.Random, data: DataSet) -> Rows:
    n = len(data.employees)
    start = data.runs[0].start if data.runs else date(2025, 1, 1)
    rows = billing(rng, max(5, n // 10), start) | supply(rng, max(3, n // 50), max(10, n // 5), start)
    customers = rows["customers"]
    reserved = datetime.combine(start, time(12))
    rows["stock_reservations"] = [
        (_id(rng), item[0], 1, _id(rng), customers[k % len(customers)][0], "active", reserved)
        for k, item in enumerate(rows["inventory_items"][::5])
    ]
    years = sorted({r.start.year for r in data.runs}) or [start.year]
    rows["budgets"] = [
        (
            _id(rng),
            d.id,
            year,
            "Salaries",
            Decimal(2_000_000),
            Decimal(0),
            Decimal(2_000_000),
            date(year, 1, 1),
            date(year, 12, 31),
        )
        for d in data.departments
        for year in years
    ]
    return {table: rows[table] for table in TABLE_ORDER}
