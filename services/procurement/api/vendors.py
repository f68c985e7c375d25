"""Vendors: get, batch get, list, create, update (optimistic locking on version)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from erp.procurement.v1 import procurement_service_pb2 as api
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.procurement import domain, mapping
from services.procurement.api.base import ApiBase
from services.procurement.tables import Vendor
from services.runtime.convert import decimal_from_pb, money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page

VENDOR = "vendor"
UNIQUE_MESSAGES = {"uq_vendors_email": "a vendor with this e-mail already exists"}


def _text(value: str) -> str | None:
    return value.strip() or None


class VendorsApi(ApiBase):
    async def GetVendor(self, request: api.GetVendorRequest, context_: Any) -> api.GetVendorResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, Vendor, key, VENDOR)
        return api.GetVendorResponse(vendor=mapping.vendor_to_pb(row))

    async def BatchGetVendors(self, request: api.BatchGetVendorsRequest, context_: Any) -> api.BatchGetVendorsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Vendor, keys)
        return api.BatchGetVendorsResponse(vendors=[mapping.vendor_to_pb(r) for r in rows])

    async def ListVendors(self, request: api.ListVendorsRequest, context_: Any) -> api.ListVendorsResponse:
        v = Validator()
        statuses = v.enum_values(request.statuses, mapping.VENDOR_STATUS_FROM_PB, "statuses")
        min_rating = v.collect(lambda: decimal_from_pb(request.min_rating, "min_rating", required=False))
        v.raise_if_any()
        stmt = select(Vendor)
        if statuses:
            stmt = stmt.where(Vendor.status.in_(statuses))
        if min_rating is not None:
            stmt = stmt.where(Vendor.rating >= min_rating)
        query = request.query.strip().lower()
        if query:
            stmt = stmt.where(
                or_(
                    func.lower(Vendor.name).contains(query, autoescape=True),
                    Vendor.email.contains(query, autoescape=True),
                )
            )
        filters = (sorted(statuses), str(min_rating), query)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Vendor.name, Vendor.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
            )
        return api.ListVendorsResponse(
            vendors=[mapping.vendor_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CreateVendor(self, request: api.CreateVendorRequest, context_: Any) -> api.CreateVendorResponse:
        v = Validator()
        values: dict[str, Any] = {
            "name": request.name.strip(),
            "email": domain.normalize_email(request.email),
            "phone": _text(request.phone),
            "address": _text(request.address),
            "city": _text(request.city),
            "state": _text(request.state),
            "zip_code": _text(request.zip_code),
            "country": _text(request.country),
            "payment_terms": _text(request.payment_terms),
            "tax_id": _text(request.tax_id),
            "rating": v.collect(lambda: money_from_pb(request.rating, "rating", required=False)),
        }
        domain.validate_vendor_fields(v, values)
        v.raise_if_any()
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                await self._ensure_email_free(uow, values["email"], None)
                row = Vendor(
                    id=uuid.uuid4(),
                    status=domain.VendorStatus.ACTIVE.value,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
                uow.session.add(row)
                uow.record(mapping.vendor_created(row), aggregate_type="Vendor", aggregate_id=row.id, version=1)
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateVendorResponse(vendor=mapping.vendor_to_pb(row))

    async def UpdateVendor(self, request: api.UpdateVendorRequest, context_: Any) -> api.UpdateVendorResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - domain.UPDATABLE_VENDOR_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        key = uuid_from_str(request.vendor.id, "vendor.id")
        assert key is not None
        e = request.vendor
        v = Validator()
        parsers: dict[str, Callable[[], Any]] = {
            "name": lambda: e.name.strip(),
            "email": lambda: domain.normalize_email(e.email),
            "rating": lambda: money_from_pb(e.rating, "vendor.rating", required=False),
            "status": lambda: self._status(e.status),
        }
        values: dict[str, Any] = {
            p: v.collect(parsers[p]) if p in parsers else _text(getattr(e, p)) for p in dict.fromkeys(paths)
        }
        domain.validate_vendor_fields(v, values, prefix="vendor.")
        v.raise_if_any()
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_versioned_for_update(uow.session, Vendor, key, request.version, VENDOR)
                if "email" in values:
                    await self._ensure_email_free(uow, values["email"], row.id)
                changed = [name for name, value in values.items() if getattr(row, name) != value]
                if changed:
                    for name in changed:
                        setattr(row, name, values[name])
                    row.version += 1
                    row.updated_at = self.clock.now()
                    uow.record(
                        mapping.vendor_updated(row, changed),
                        aggregate_type="Vendor",
                        aggregate_id=row.id,
                        version=row.version,
                    )
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.UpdateVendorResponse(vendor=mapping.vendor_to_pb(row))

    @staticmethod
    def _status(value: int) -> str:
        if value not in mapping.VENDOR_STATUS_FROM_PB:
            raise InvalidArgument.field("vendor.status", "must be ACTIVE, INACTIVE or SUSPENDED")
        return mapping.VENDOR_STATUS_FROM_PB[value]

    async def _ensure_email_free(self, uow: UnitOfWork, email: str, own_id: uuid.UUID | None) -> None:
        stmt = select(Vendor.id).where(Vendor.email == email)
        if own_id is not None:
            stmt = stmt.where(Vendor.id != own_id)
        if (await uow.session.execute(stmt)).first() is not None:
            raise AlreadyExists(UNIQUE_MESSAGES["uq_vendors_email"])
