"""Customers: create, read, list, update with optimistic locking; every error path writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from tests.billing.helpers import (
    Code,
    Stub,
    create_customer,
    customer_request,
    dec,
    email,
    get_customer,
    issued_invoice,
    mask,
    rpc_error,
    tag,
    violation_fields,
)
from tests.billing.probes import names, only, recorded_events, rejected


def update(customer: pb.Customer, paths: tuple[str, ...], version: int = 0, **fields: Any) -> api.UpdateCustomerRequest:
    return api.UpdateCustomerRequest(
        customer=pb.Customer(id=customer.id, **fields), update_mask=mask(*paths), version=version
    )


async def test_create_customer_answers_it_and_records_customer_created(stub: Stub, db: asyncpg.Connection) -> None:
    address = email().upper()
    async with recorded_events(db) as events:
        c = await create_customer(stub, email=f"  {address} ", credit_limit=dec("5000"))
    assert c.email == address.lower()  # trimmed, lower-cased
    assert c.status == pb.CUSTOMER_STATUS_ACTIVE
    assert (c.credit_limit.value, c.current_balance.value, c.version) == ("5000.00", "0.00", 1)
    assert await get_customer(stub, c.id) == c
    assert names(events) == ["CustomerCreated"]
    created = only(events, "CustomerCreated")
    assert (created.customer_id, created.email, created.credit_limit.value, created.version) == (
        c.id,
        c.email,
        "5000.00",
        1,
    )
    assert events[0].aggregate_type == "Customer" and events[0].aggregate_id == c.id


async def test_credit_limit_defaults_to_zero(stub: Stub) -> None:
    c = await create_customer(stub, credit_limit=dec(""))
    assert c.credit_limit.value == "0.00"


async def test_duplicate_email_is_already_exists_whatever_the_case(stub: Stub, db: asyncpg.Connection) -> None:
    first = await create_customer(stub)
    await rejected(
        db,
        lambda: stub.CreateCustomer(customer_request(email=first.email.upper())),
        Code.ALREADY_EXISTS,
    )


async def test_create_customer_reports_every_bad_field(stub: Stub, db: asyncpg.Connection) -> None:
    request = customer_request(name=" ", email="nope", phone="9" * 21, credit_limit=dec("-1"), country="x" * 101)
    err = await rejected(db, lambda: stub.CreateCustomer(request), Code.INVALID_ARGUMENT)
    assert sorted(violation_fields(err)) == ["country", "credit_limit", "email", "name", "phone"]
    for bad in ("1.005", "abc", "1e30"):
        err = await rejected(
            db, lambda bad=bad: stub.CreateCustomer(customer_request(credit_limit=dec(bad))), Code.INVALID_ARGUMENT
        )
        assert violation_fields(err) == ["credit_limit"]


async def test_get_and_batch_get(stub: Stub) -> None:
    a, b = await create_customer(stub), await create_customer(stub)
    missing = str(uuid.uuid4())
    resp = await stub.BatchGetCustomers(api.BatchGetCustomersRequest(ids=[a.id, b.id, a.id, missing]))
    assert sorted(c.id for c in resp.customers) == sorted([a.id, b.id])
    await rpc_error(stub.GetCustomer(api.GetCustomerRequest(id=missing)), Code.NOT_FOUND)
    err = await rpc_error(stub.GetCustomer(api.GetCustomerRequest(id="nope")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]


async def test_list_customers_filters_and_pages(stub: Stub) -> None:
    t = tag()
    made = [await create_customer(stub, name=f"List {t} {n}") for n in ("c", "a", "b")]
    suspended = await create_customer(stub, name=f"List {t} d")
    await stub.UpdateCustomer(update(suspended, ("status",), status=pb.CUSTOMER_STATUS_SUSPENDED))
    first = await stub.ListCustomers(api.ListCustomersRequest(query=f"LIST {t}", page_size=2))
    assert first.total_size == 4 and len(first.customers) == 2 and first.next_page_token
    second = await stub.ListCustomers(
        api.ListCustomersRequest(query=f"list {t}", page_size=2, page_token=first.next_page_token)
    )
    ordered = [c.name for c in [*first.customers, *second.customers]]
    assert ordered == [f"List {t} {n}" for n in "abcd"]
    active = await stub.ListCustomers(api.ListCustomersRequest(query=t, statuses=[pb.CUSTOMER_STATUS_ACTIVE]))
    assert {c.id for c in active.customers} == {c.id for c in made}
    err = await rpc_error(stub.ListCustomers(api.ListCustomersRequest(statuses=[0])), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["statuses"]


async def test_over_credit_limit_filter(stub: Stub) -> None:
    c = await create_customer(stub, credit_limit=dec("500.00"))
    await issued_invoice(stub, c.id)  # balance 110.00
    c = await get_customer(stub, c.id)
    await stub.UpdateCustomer(update(c, ("credit_limit",), version=c.version, credit_limit=dec("50.00")))
    over = await stub.ListCustomers(api.ListCustomersRequest(query=c.email, over_credit_limit=True))
    assert [x.id for x in over.customers] == [c.id]
    assert over.customers[0].current_balance.value == "110.00"


async def test_update_customer_changes_only_named_fields(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    new_email = email("renamed")
    async with recorded_events(db, c.id) as events:
        resp = await stub.UpdateCustomer(
            update(c, ("name", "email", "city"), version=1, name="Renamed Ltd", email=new_email, city="Paris")
        )
    u = resp.customer
    assert (u.name, u.email, u.city, u.country, u.version) == ("Renamed Ltd", new_email, "Paris", c.country, 2)
    changed = only(events, "CustomerUpdated")
    assert list(changed.changed_fields) == ["city", "email", "name"]
    assert (changed.name, changed.city, changed.version) == ("Renamed Ltd", "Paris", 2)
    assert not changed.HasField("country") and not changed.HasField("status")

    # Nothing changed: no new version, no event.
    async with recorded_events(db, c.id) as events:
        same = (await stub.UpdateCustomer(update(u, ("city",), version=2, city="Paris"))).customer
    assert same.version == 2 and events == []


async def test_update_customer_status(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    async with recorded_events(db, c.id) as events:
        u = (await stub.UpdateCustomer(update(c, ("status",), status=pb.CUSTOMER_STATUS_INACTIVE))).customer
    assert u.status == pb.CUSTOMER_STATUS_INACTIVE
    assert only(events, "CustomerUpdated").status == pb.CUSTOMER_STATUS_INACTIVE


async def test_update_customer_error_paths_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    other = await create_customer(stub)
    keep = (c.id,)
    err = await rejected(
        db, lambda: stub.UpdateCustomer(update(c, ("name",), version=7, name="X")), Code.ABORTED, customers=keep
    )
    assert "version 1" in err.details()
    await rejected(
        db,
        lambda: stub.UpdateCustomer(update(c, ("email",), email=other.email)),
        Code.ALREADY_EXISTS,
        customers=keep,
    )
    await rejected(
        db, lambda: stub.UpdateCustomer(update(c, ())), Code.INVALID_ARGUMENT, fields=("update_mask",), customers=keep
    )
    await rejected(
        db,
        lambda: stub.UpdateCustomer(update(c, ("current_balance",))),
        Code.INVALID_ARGUMENT,
        fields=("update_mask",),
        customers=keep,
    )
    await rejected(
        db,
        lambda: stub.UpdateCustomer(
            update(c, ("name", "status", "credit_limit"), name="", status=0, credit_limit=dec("-5"))
        ),
        Code.INVALID_ARGUMENT,
        fields=("customer.name", "customer.status", "customer.credit_limit"),
        customers=keep,
    )
    await rejected(
        db,
        lambda: stub.UpdateCustomer(
            api.UpdateCustomerRequest(customer=pb.Customer(id=str(uuid.uuid4()), name="X"), update_mask=mask("name"))
        ),
        Code.NOT_FOUND,
    )
