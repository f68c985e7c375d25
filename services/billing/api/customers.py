"""Customers: get, batch get, list, create, update (optimistic locking, unique e-mail)."""

from __future__ import annotations

import uuid
from typing import Any

from erp.billing.v1 import billing_service_pb2 as api
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.billing import domain, events, mapping
from services.billing.api.base import ApiBase, require_id
from services.billing.read_model import mark_stale
from services.billing.tables import Customer
from services.billing.validation import UPDATABLE_CUSTOMER_FIELDS, normalize_email, validate_customer_fields
from services.runtime.convert import money_from_pb, uuids_from_strs
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page

UNIQUE_MESSAGES = {"uq_customers_email": "a customer with this e-mail already exists"}
OPTIONAL_TEXT = ("phone", "address", "city", "state", "zip_code", "country")


class CustomersApi(ApiBase):
    async def GetCustomer(self, request: api.GetCustomerRequest, context_: Any) -> api.GetCustomerResponse:
        key = require_id(request.id, "id")
        async with self.db.read() as s:
            row = await get_or_404(s, Customer, key, "customer")
        return api.GetCustomerResponse(customer=mapping.customer_to_pb(row))

    async def BatchGetCustomers(
        self, request: api.BatchGetCustomersRequest, context_: Any
    ) -> api.BatchGetCustomersResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Customer, keys)
        return api.BatchGetCustomersResponse(customers=[mapping.customer_to_pb(r) for r in rows])

    async def ListCustomers(self, request: api.ListCustomersRequest, context_: Any) -> api.ListCustomersResponse:
        v = Validator()
        statuses = v.enum_values(request.statuses, mapping.CUSTOMER_STATUS_FROM_PB, "statuses")
        v.max_len(request.query, "query", 255)
        v.raise_if_any()
        stmt = select(Customer)
        if statuses:
            stmt = stmt.where(Customer.status.in_([s.value for s in statuses]))
        needle = request.query.strip().lower()
        if needle:
            stmt = stmt.where(
                or_(
                    func.lower(Customer.name).contains(needle, autoescape=True),
                    Customer.email.contains(needle, autoescape=True),
                )
            )
        if request.over_credit_limit:
            stmt = stmt.where(Customer.current_balance > Customer.credit_limit)
        filters = (sorted(s.value for s in statuses), needle, request.over_credit_limit)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Customer.name, Customer.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
            )
        return api.ListCustomersResponse(
            customers=[mapping.customer_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CreateCustomer(self, request: api.CreateCustomerRequest, context_: Any) -> api.CreateCustomerResponse:
        v = Validator()
        values: dict[str, Any] = {
            "name": request.name.strip(),
            "email": normalize_email(request.email),
            **{name: getattr(request, name).strip() or None for name in OPTIONAL_TEXT},
            "credit_limit": v.collect(lambda: money_from_pb(request.credit_limit, "credit_limit", required=False)),
        }
        validate_customer_fields(v, values)
        v.raise_if_any()
        if values["credit_limit"] is None:
            values["credit_limit"] = domain.ZERO
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                await self._ensure_email_free(uow, values["email"], None)
                row = Customer(
                    id=uuid.uuid4(),
                    status=domain.CustomerStatus.ACTIVE.value,
                    current_balance=domain.ZERO,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
                uow.session.add(row)
                events.record_customer_event(uow, row, events.customer_created(row))
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateCustomerResponse(customer=mapping.customer_to_pb(row))

    async def UpdateCustomer(self, request: api.UpdateCustomerRequest, context_: Any) -> api.UpdateCustomerResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - UPDATABLE_CUSTOMER_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        c = request.customer
        key = require_id(c.id, "customer.id")
        v = Validator()
        values: dict[str, Any] = {}
        for path in paths:
            if path == "name":
                values["name"] = c.name.strip()
            elif path == "email":
                values["email"] = normalize_email(c.email)
            elif path == "credit_limit":
                values["credit_limit"] = v.collect(lambda: money_from_pb(c.credit_limit, "customer.credit_limit"))
            elif path == "status":
                status = v.enum_values([c.status], mapping.CUSTOMER_STATUS_FROM_PB, "customer.status")
                values["status"] = status[0].value if status else None
            else:
                values[path] = getattr(c, path).strip() or None
        validate_customer_fields(v, values, prefix="customer.")
        v.raise_if_any()
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_versioned_for_update(uow.session, Customer, key, request.version, "customer")
                if "email" in values:
                    await self._ensure_email_free(uow, values["email"], row.id)
                changed = [name for name, value in values.items() if getattr(row, name) != value]
                if changed:
                    for name in changed:
                        setattr(row, name, values[name])
                    row.version += 1
                    row.updated_at = self.clock.now()
                    events.record_customer_event(uow, row, events.customer_updated(row, changed))
                    if "name" in changed:
                        await mark_stale(uow.session)  # invoice_summary shows the customer's name
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.UpdateCustomerResponse(customer=mapping.customer_to_pb(row))

    async def _ensure_email_free(self, uow: UnitOfWork, email: str, own_id: uuid.UUID | None) -> None:
        stmt = select(Customer.id).where(Customer.email == email)
        if own_id is not None:
            stmt = stmt.where(Customer.id != own_id)
        if (await uow.session.execute(stmt)).first() is not None:
            raise AlreadyExists(UNIQUE_MESSAGES["uq_customers_email"])
