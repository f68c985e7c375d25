"""Vendors through the real service: create, read, list, update (optimistic locking), every error
path with nothing written."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api

from tests.procurement.helpers import (
    CALLER,
    Code,
    Stub,
    create_vendor,
    dec,
    mask,
    outbox_events,
    rejected,
    rpc_error,
    set_vendor_status,
    tag,
    vendor_request,
    violation_fields,
)

VENDOR_CREATED = "erp.procurement.v1.VendorCreated"
VENDOR_UPDATED = "erp.procurement.v1.VendorUpdated"


async def test_create_vendor_is_active_with_normalized_email_and_an_event(stub: Stub, db: asyncpg.Connection) -> None:
    t = tag()
    v = await create_vendor(
        stub, email=f"  Sales-{t}@Vendor.Example ", phone="+1 555 0100", tax_id="TAX-1", rating=dec("3.75")
    )
    assert v.status == pb.VENDOR_STATUS_ACTIVE and v.version == 1
    assert v.email == f"sales-{t}@vendor.example"
    assert (v.rating.value, v.payment_terms, v.tax_id, v.phone) == ("3.75", "Net 30", "TAX-1", "+1 555 0100")
    got = (await stub.GetVendor(api.GetVendorRequest(id=v.id))).vendor
    assert got == v
    [event] = await outbox_events(db, v.id, VENDOR_CREATED)
    assert (event.vendor_id, event.email, event.rating.value, event.version) == (v.id, v.email, "3.75", 1)


async def test_a_vendor_without_rating_is_unrated(stub: Stub) -> None:
    v = await create_vendor(stub, rating=None)
    assert not v.HasField("rating")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "1" * 21}, "phone"),
        ({"payment_terms": "N" * 51}, "payment_terms"),
        ({"rating": dec("5.01")}, "rating"),
        ({"rating": dec("-0.01")}, "rating"),
        ({"rating": dec("4.125")}, "rating"),
        ({"rating": dec("abc")}, "rating"),
        ({"city": "bad\x00city"}, "city"),
    ],
)
async def test_create_vendor_rejects_bad_input(
    stub: Stub, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    await rejected(db, lambda: stub.CreateVendor(vendor_request(**overrides)), Code.INVALID_ARGUMENT, fields=(field,))


async def test_create_vendor_reports_every_violation_at_once(stub: Stub, db: asyncpg.Connection) -> None:
    err = await rejected(
        db,
        lambda: stub.CreateVendor(vendor_request(name="", email="x", rating=dec("9"))),
        Code.INVALID_ARGUMENT,
    )
    assert set(violation_fields(err)) == {"name", "email", "rating"}


async def test_vendor_email_is_unique_whatever_its_case(stub: Stub, db: asyncpg.Connection) -> None:
    v = await create_vendor(stub)
    await rejected(
        db, lambda: stub.CreateVendor(vendor_request(email=v.email.upper())), Code.ALREADY_EXISTS, message="e-mail"
    )
    other = await create_vendor(stub)
    req = api.UpdateVendorRequest(vendor=pb.Vendor(id=other.id, email=v.email), update_mask=mask("email"))
    await rejected(db, lambda: stub.UpdateVendor(req), Code.ALREADY_EXISTS, vendors=(other.id,))


async def test_update_vendor_changes_named_fields_and_bumps_the_version(stub: Stub, db: asyncpg.Connection) -> None:
    v = await create_vendor(stub, tax_id="OLD-TAX")
    req = api.UpdateVendorRequest(
        vendor=pb.Vendor(
            id=v.id, rating=dec("2"), payment_terms="Net 60", tax_id="NEW-TAX", name="ignored: not in the mask"
        ),
        update_mask=mask("rating", "payment_terms", "tax_id"),
        version=v.version,
    )
    got = (await stub.UpdateVendor(req, metadata=CALLER)).vendor
    assert (got.rating.value, got.payment_terms, got.tax_id, got.name) == ("2.00", "Net 60", "NEW-TAX", v.name)
    assert got.version == 2
    [event] = await outbox_events(db, v.id, VENDOR_UPDATED)
    assert list(event.changed_fields) == ["payment_terms", "rating", "tax_id"]
    assert event.payment_terms == "Net 60" and event.rating.value == "2.00" and event.version == 2
    assert not event.HasField("name")
    assert "NEW-TAX" not in str(event)  # the tax id is named, never sent

    # Same values again: nothing changes, no event, same version.
    same = (await stub.UpdateVendor(api.UpdateVendorRequest(vendor=got, update_mask=mask("payment_terms")))).vendor
    assert same.version == 2
    assert len(await outbox_events(db, v.id, VENDOR_UPDATED)) == 1


async def test_update_vendor_error_paths_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    v = await create_vendor(stub)

    def update(paths: tuple[str, ...], version: int = 0, **fields: Any) -> Any:
        req = api.UpdateVendorRequest(vendor=pb.Vendor(id=v.id, **fields), update_mask=mask(*paths), version=version)
        return lambda: stub.UpdateVendor(req)

    await rejected(
        db, update(("status",), version=v.version + 5, status=pb.VENDOR_STATUS_SUSPENDED), Code.ABORTED, vendors=(v.id,)
    )
    await rejected(db, update(()), Code.INVALID_ARGUMENT, fields=("update_mask",), vendors=(v.id,))
    await rejected(db, update(("id",)), Code.INVALID_ARGUMENT, fields=("update_mask",), vendors=(v.id,))
    await rejected(
        db,
        update(("status",), status=pb.VENDOR_STATUS_UNSPECIFIED),
        Code.INVALID_ARGUMENT,
        fields=("vendor.status",),
        vendors=(v.id,),
    )
    await rejected(
        db, update(("rating",), rating=dec("6")), Code.INVALID_ARGUMENT, fields=("vendor.rating",), vendors=(v.id,)
    )
    await rejected(db, update(("name",), name=""), Code.INVALID_ARGUMENT, fields=("vendor.name",), vendors=(v.id,))
    missing = api.UpdateVendorRequest(vendor=pb.Vendor(id=str(uuid.uuid4()), name="x"), update_mask=mask("name"))
    await rejected(db, lambda: stub.UpdateVendor(missing), Code.NOT_FOUND)


async def test_get_and_batch_get_vendors(stub: Stub) -> None:
    a, b = await create_vendor(stub), await create_vendor(stub)
    missing = str(uuid.uuid4())
    await rpc_error(stub.GetVendor(api.GetVendorRequest(id=missing)), Code.NOT_FOUND)
    err = await rpc_error(stub.GetVendor(api.GetVendorRequest(id="nope")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]
    resp = await stub.BatchGetVendors(api.BatchGetVendorsRequest(ids=[a.id, b.id, a.id, missing]))
    assert sorted(x.id for x in resp.vendors) == sorted([a.id, b.id])


async def test_list_vendors_filters_and_pages(stub: Stub) -> None:
    t = tag()
    made = [await create_vendor(stub, name=f"Lister {t} {n}", rating=dec(r)) for n, r in enumerate(["1", "3", "5"])]
    await set_vendor_status(stub, made[0], pb.VENDOR_STATUS_SUSPENDED)

    async def names(**kw: Any) -> list[str]:
        return [x.name for x in (await stub.ListVendors(api.ListVendorsRequest(query=f"lister {t}", **kw))).vendors]

    assert await names() == [f"Lister {t} 0", f"Lister {t} 1", f"Lister {t} 2"]
    assert await names(statuses=[pb.VENDOR_STATUS_ACTIVE]) == [f"Lister {t} 1", f"Lister {t} 2"]
    assert await names(statuses=[pb.VENDOR_STATUS_SUSPENDED]) == [f"Lister {t} 0"]
    assert await names(min_rating=dec("3")) == [f"Lister {t} 1", f"Lister {t} 2"]
    first = await stub.ListVendors(api.ListVendorsRequest(query=f"LISTER {t}", page_size=2))
    assert first.total_size == 3 and len(first.vendors) == 2 and first.next_page_token
    rest = await stub.ListVendors(
        api.ListVendorsRequest(query=f"LISTER {t}", page_size=2, page_token=first.next_page_token)
    )
    assert [x.name for x in rest.vendors] == [f"Lister {t} 2"] and rest.next_page_token == ""
    await rpc_error(stub.ListVendors(api.ListVendorsRequest(statuses=[99])), Code.INVALID_ARGUMENT)
    await rpc_error(
        stub.ListVendors(api.ListVendorsRequest(query="other", page_token=first.next_page_token)), Code.INVALID_ARGUMENT
    )
