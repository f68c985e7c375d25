"""procurement_db: vendors, purchase orders with their items and receipts, vendor performance
(spec section 5).

References inside procurement_db are real foreign keys. Items name inventory's SKUs, orders
name accounting's journal entries and the employee service's departments: those columns are
logical references, documented by a column comment (spec migration phase 1).

Added by procurement_0002: `purchase_order_receipts` (one row per ReceivePurchaseOrder: its date,
who, notes, totals) and `purchase_orders.auto_reorder_sku`, with a partial unique index that
allows at most one open auto-reorder order per SKU.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.tables import created_at_column, new_metadata, updated_at_column, uuid_pk

VENDOR_STATUSES = ("active", "inactive", "suspended")
PURCHASE_ORDER_STATUSES = ("pending", "approved", "ordered", "partially_received", "received", "cancelled")
OPEN_PURCHASE_ORDER_STATUSES = ("pending", "approved", "ordered", "partially_received")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Vendor(Base):
    __tablename__ = "vendors"
    __table_args__ = (
        Index("idx_vendors_email", "email"),
        Index("idx_vendors_status", "status"),
        CheckConstraint(f"status IN {VENDOR_STATUSES}", name="status_known"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 0 AND 5", name="rating_between_0_and_5"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(50))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    payment_terms: Mapped[str | None] = mapped_column(String(50))
    tax_id: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'active'"))
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        Index("idx_po_number", "po_number"),
        Index("idx_po_vendor", "vendor_id"),
        Index("idx_po_status", "status"),
        Index("idx_po_order_date", "order_date"),
        CheckConstraint(f"status IN {PURCHASE_ORDER_STATUSES}", name="status_known"),
        CheckConstraint("subtotal >= 0", name="subtotal_non_negative"),
        CheckConstraint("tax_amount >= 0", name="tax_amount_non_negative"),
        CheckConstraint("shipping_cost >= 0", name="shipping_cost_non_negative"),
        CheckConstraint("total_amount = subtotal + tax_amount + shipping_cost", name="total_is_sum"),
        CheckConstraint(
            "expected_delivery_date IS NULL OR expected_delivery_date >= order_date",
            name="expected_delivery_after_order",
        ),
        Index(
            "uq_po_open_auto_reorder_sku",
            "auto_reorder_sku",
            unique=True,
            postgresql_where=text(f"auto_reorder_sku IS NOT NULL AND status IN {OPEN_PURCHASE_ORDER_STATUSES}"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    po_number: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    vendor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("vendors.id", name="fk_purchase_orders_vendor_id_vendors"), nullable=False
    )
    order_date: Mapped[date] = mapped_column(Date, nullable=False)
    expected_delivery_date: Mapped[date | None] = mapped_column(Date)
    actual_delivery_date: Mapped[date | None] = mapped_column(Date)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default=text("0"))
    shipping_cost: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False, server_default=text("0"))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'pending'"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    requesting_department: Mapped[str | None] = mapped_column(
        String(100), comment="Logical reference to Employee Service - departments.name"
    )
    approved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accounting_transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment="Logical reference to Accounting Service - journal_entries.id"
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    auto_reorder_sku: Mapped[str | None] = mapped_column(
        String(50),
        comment="Logical reference to Inventory Service - inventory_items.sku; "
        "set on orders created by the reorder consumer (one open order per SKU)",
    )


class PurchaseOrderItem(Base):
    __tablename__ = "purchase_order_items"
    __table_args__ = (
        Index("idx_po_items_po", "purchase_order_id"),
        Index("idx_po_items_sku", "sku"),
        UniqueConstraint("purchase_order_id", "line_number"),
        CheckConstraint("line_number >= 1", name="line_number_positive"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("quantity_received >= 0", name="quantity_received_non_negative"),
        CheckConstraint("quantity_rejected >= 0", name="quantity_rejected_non_negative"),
        CheckConstraint("quantity_received <= quantity", name="received_within_quantity"),
        CheckConstraint("quantity_received + quantity_rejected <= quantity", name="receipts_within_quantity"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey(
            "purchase_orders.id", ondelete="CASCADE", name="fk_purchase_order_items_purchase_order_id_purchase_orders"
        ),
        nullable=False,
    )
    line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    sku: Mapped[str] = mapped_column(
        String(50), nullable=False, comment="Logical reference to Inventory Service - inventory_items.sku"
    )
    description: Mapped[str] = mapped_column(Text, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    quantity_received: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    quantity_rejected: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()


class PurchaseOrderReceipt(Base):
    """One ReceivePurchaseOrder call: when the goods arrived, who recorded them, what they were worth."""

    __tablename__ = "purchase_order_receipts"
    __table_args__ = (
        Index("idx_po_receipts_po", "purchase_order_id", "receipt_date"),
        UniqueConstraint("purchase_order_id", "receipt_number"),
        CheckConstraint("receipt_number >= 1", name="receipt_number_positive"),
        CheckConstraint("quantity_received >= 0", name="quantity_received_non_negative"),
        CheckConstraint("quantity_rejected >= 0", name="quantity_rejected_non_negative"),
        CheckConstraint("quantity_received + quantity_rejected > 0", name="receives_something"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("tax_amount >= 0", name="tax_amount_non_negative"),
        CheckConstraint("shipping_cost >= 0", name="shipping_cost_non_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey(
            "purchase_orders.id",
            ondelete="CASCADE",
            name="fk_purchase_order_receipts_purchase_order_id_purchase_orders",
        ),
        nullable=False,
    )
    receipt_number: Mapped[int] = mapped_column(Integer, nullable=False)
    receipt_date: Mapped[date] = mapped_column(Date, nullable=False)
    quantity_received: Mapped[int] = mapped_column(Integer, nullable=False)
    quantity_rejected: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    shipping_cost: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    received_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class VendorPerformance(Base):
    __tablename__ = "vendor_performance"
    __table_args__ = (
        Index("idx_vendor_perf_vendor", "vendor_id"),
        Index("idx_vendor_perf_date", "metric_date"),
        UniqueConstraint("vendor_id", "metric_date"),
        CheckConstraint("total_orders >= 0", name="total_orders_non_negative"),
        CheckConstraint("on_time_deliveries >= 0", name="on_time_deliveries_non_negative"),
        CheckConstraint("late_deliveries >= 0", name="late_deliveries_non_negative"),
        CheckConstraint("quality_issues >= 0", name="quality_issues_non_negative"),
        CheckConstraint("on_time_deliveries + late_deliveries <= total_orders", name="deliveries_within_orders"),
        CheckConstraint(
            "average_delivery_days IS NULL OR average_delivery_days >= 0", name="average_days_non_negative"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    vendor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("vendors.id", name="fk_vendor_performance_vendor_id_vendors"), nullable=False
    )
    metric_date: Mapped[date] = mapped_column(Date, nullable=False)
    total_orders: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    on_time_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    late_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    quality_issues: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    average_delivery_days: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    created_at: Mapped[datetime] = created_at_column()


class PoNumberSequence(Base):
    """Gap-free purchase order numbers: lock the year's row (SELECT ... FOR UPDATE), increment."""

    __tablename__ = "po_number_sequences"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
