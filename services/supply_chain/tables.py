"""supply_chain_db: shipments with their items and tracking history, carrier performance (spec section 7).

References inside supply_chain_db are real foreign keys. SKUs (inventory) and external orders
are logical references, documented by a column comment (spec migration phase 1).

Added by supply_chain_0002: `shipments.status_changed_at` (the event time of the current status, so
a late carrier update never moves the status backwards), a unique key on tracking events
(shipment, status, time, location) so a duplicated carrier update is stored once, and an index
on (carrier, status) for the carrier summary's returned/lost counts.
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

SHIPMENT_TYPES = ("inbound", "outbound")
SHIPMENT_STATUSES = ("pending", "in_transit", "delivered", "cancelled", "returned", "lost")
TRACKING_STATUSES = (
    "created",
    "dispatched",
    "in_transit",
    "out_for_delivery",
    "delivery_attempted",
    "exception",
    "delivered",
    "cancelled",
    "returned",
    "lost",
)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        Index("idx_shipments_number", "shipment_number"),
        Index("idx_shipments_tracking", "tracking_number"),
        Index("idx_shipments_order", "order_id"),
        Index("idx_shipments_status", "status"),
        Index("idx_shipments_carrier_status", "carrier", "status"),
        CheckConstraint(f"shipment_type IN {SHIPMENT_TYPES}", name="shipment_type_known"),
        CheckConstraint(f"status IN {SHIPMENT_STATUSES}", name="status_known"),
        CheckConstraint("status <> 'delivered' OR delivered_at IS NOT NULL", name="delivered_has_time"),
        CheckConstraint("status <> 'in_transit' OR dispatched_at IS NOT NULL", name="in_transit_has_dispatch_time"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    shipment_number: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        nullable=False,
        comment="Logical reference to Order Service - orders.id (an external system, not an ERP service)",
    )
    shipment_type: Mapped[str] = mapped_column(String(20), nullable=False)
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    tracking_number: Mapped[str | None] = mapped_column(String(100), unique=True)
    origin_address: Mapped[str | None] = mapped_column(String(255))
    origin_city: Mapped[str | None] = mapped_column(String(100))
    origin_state: Mapped[str | None] = mapped_column(String(50))
    origin_zip_code: Mapped[str | None] = mapped_column(String(20))
    destination_address: Mapped[str | None] = mapped_column(String(255))
    destination_city: Mapped[str | None] = mapped_column(String(100))
    destination_state: Mapped[str | None] = mapped_column(String(50))
    destination_zip_code: Mapped[str | None] = mapped_column(String(20))
    estimated_delivery_date: Mapped[date | None] = mapped_column(Date)
    actual_delivery_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'pending'"))
    delivered_to: Mapped[str | None] = mapped_column(String(200))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    status_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        nullable=False,
        comment="When the current status began: the event time of the change that set it",
    )


class ShipmentItem(Base):
    __tablename__ = "shipment_items"
    __table_args__ = (
        Index("idx_shipment_items_shipment", "shipment_id"),
        Index("idx_shipment_items_sku", "sku"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("weight IS NULL OR weight >= 0", name="weight_non_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    shipment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("shipments.id", ondelete="CASCADE", name="fk_shipment_items_shipment_id_shipments"),
        nullable=False,
    )
    sku: Mapped[str] = mapped_column(
        String(50), nullable=False, comment="Logical reference to Inventory Service - inventory_items.sku"
    )
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    weight: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = created_at_column()


class TrackingEvent(Base):
    """One entry of a shipment's tracking history; the proto's event_time is the column `timestamp`."""

    __tablename__ = "tracking_history"
    __table_args__ = (
        Index("idx_tracking_shipment", "shipment_id", "timestamp"),
        Index("idx_tracking_timestamp", "timestamp"),
        CheckConstraint(f"status IN {TRACKING_STATUSES}", name="status_known"),
        # A carrier update delivered twice is one entry (NULL locations compare equal).
        UniqueConstraint(
            "shipment_id",
            "status",
            "timestamp",
            "location",
            name="uq_tracking_history_event",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    shipment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("shipments.id", name="fk_tracking_history_shipment_id_shipments"),
        nullable=False,
    )
    status: Mapped[str] = mapped_column(String(50), nullable=False)
    location: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    event_time: Mapped[datetime] = mapped_column("timestamp", DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class CarrierPerformance(Base):
    __tablename__ = "carrier_performance"
    __table_args__ = (
        Index("idx_carrier_perf_carrier", "carrier"),
        Index("idx_carrier_perf_date", "metric_date"),
        UniqueConstraint("carrier", "metric_date"),
        CheckConstraint("total_shipments >= 0", name="total_shipments_non_negative"),
        CheckConstraint("on_time_deliveries >= 0", name="on_time_deliveries_non_negative"),
        CheckConstraint("late_deliveries >= 0", name="late_deliveries_non_negative"),
        CheckConstraint("on_time_deliveries + late_deliveries <= total_shipments", name="deliveries_within_total"),
        CheckConstraint(
            "average_delivery_days IS NULL OR average_delivery_days >= 0", name="average_days_non_negative"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    metric_date: Mapped[date] = mapped_column(Date, nullable=False)
    total_shipments: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    on_time_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    late_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    average_delivery_days: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    created_at: Mapped[datetime] = created_at_column()


class ShipmentNumberSequence(Base):
    """Shipment numbers per year: lock the year's row (SELECT ... FOR UPDATE), increment."""

    __tablename__ = "shipment_number_sequences"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
