"""The chart of accounts: the seeded standard chart, reads, CreateAccount, UpdateAccount."""

from __future__ import annotations

import uuid

import asyncpg
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from services.accounting import chart
from services.accounting.mapping import ACCOUNT_TYPE_TO_PB
from tests.accounting.helpers import (
    CALLER,
    Code,
    Stub,
    create_account,
    events_since,
    outbox_mark,
    rejected,
    rpc_error,
    tag,
    violation_fields,
)


def update(account_id: str, paths: list[str], **fields: object) -> api.UpdateAccountRequest:
    return api.UpdateAccountRequest(account=pb.Account(id=account_id, **fields), update_mask=FieldMask(paths=paths))  # type: ignore[arg-type]


async def test_migration_seeds_the_standard_chart(stub: Stub) -> None:
    codes = [a.code for a in chart.STANDARD_CHART]
    resp = await stub.BatchGetAccountsByCode(
        api.BatchGetAccountsByCodeRequest(account_codes=[*codes, "nope", codes[0]])
    )
    got = {a.account_code: a for a in resp.accounts}
    assert sorted(got) == sorted(codes)
    for a in chart.STANDARD_CHART:
        row = got[a.code]
        assert (row.account_name, row.account_type, row.parent_account_code, row.is_active) == (
            a.name,
            ACCOUNT_TYPE_TO_PB[a.account_type],
            a.parent_code or "",
            True,
        )


async def test_get_and_batch_get_accounts(stub: Stub) -> None:
    a = await create_account(stub, pb.ACCOUNT_TYPE_ASSET, parent=chart.ASSETS)
    got = (await stub.GetAccount(api.GetAccountRequest(id=a.id))).account
    assert got == a and got.parent_account_code == chart.ASSETS and got.is_active
    missing = str(uuid.uuid4())
    resp = await stub.BatchGetAccounts(api.BatchGetAccountsRequest(ids=[a.id, missing, a.id]))
    assert [x.id for x in resp.accounts] == [a.id]
    await rpc_error(stub.GetAccount(api.GetAccountRequest(id=missing)), Code.NOT_FOUND)
    err = await rpc_error(stub.GetAccount(api.GetAccountRequest(id="1010")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]
    err = await rpc_error(
        stub.BatchGetAccountsByCode(api.BatchGetAccountsByCodeRequest(account_codes=["x"] * 1001)),
        Code.INVALID_ARGUMENT,
    )
    assert violation_fields(err) == ["account_codes"]


async def test_list_accounts_filters_and_pages(stub: Stub) -> None:
    t = tag()
    parent = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE, name=f"Parent {t}")
    children = [
        await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE, parent=parent.account_code, name=f"Child_{t} {i}")
        for i in range(5)
    ]
    await stub.UpdateAccount(update(children[0].id, ["is_active"], is_active=False))

    async def codes(**kw: object) -> list[str]:
        out, token = [], ""
        while True:
            resp = await stub.ListAccounts(api.ListAccountsRequest(page_size=2, page_token=token, **kw))  # type: ignore[arg-type]
            out.extend(a.account_code for a in resp.accounts)
            token = resp.next_page_token
            if not token:
                return out

    expected = sorted(c.account_code for c in children)
    assert await codes(parent_account_code=parent.account_code) == expected
    active = await codes(parent_account_code=parent.account_code, is_active=True)
    assert children[0].account_code not in active and len(active) == 4
    assert await codes(parent_account_code=parent.account_code, is_active=False) == [children[0].account_code]
    assert await codes(query=f"child_{t}") == expected
    assert await codes(query=f"child%{t}") == []  # wildcards are literal
    assert await codes(query=f"parent {t}".upper()) == [parent.account_code]
    revenue = await codes(account_types=[pb.ACCOUNT_TYPE_REVENUE])
    assert chart.SALES_REVENUE in revenue and chart.CASH not in revenue
    resp = await stub.ListAccounts(api.ListAccountsRequest(parent_account_code=parent.account_code, page_size=2))
    assert resp.total_size == 5 and len(resp.accounts) == 2
    err = await rpc_error(stub.ListAccounts(api.ListAccountsRequest(account_types=[42])), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["account_types"]
    err = await rpc_error(stub.ListAccounts(api.ListAccountsRequest(query="a\x00b")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["query"]
    err = await rpc_error(
        stub.BatchGetAccountsByCode(api.BatchGetAccountsByCodeRequest(account_codes=["1010", "\x00"])),
        Code.INVALID_ARGUMENT,
    )
    assert violation_fields(err) == ["account_codes"]


async def test_create_account(stub: Stub, db: asyncpg.Connection) -> None:
    mark = await outbox_mark(db)
    code = f"1{tag()}"
    req = api.CreateAccountRequest(
        account_code=code, account_name="Petty cash", account_type=pb.ACCOUNT_TYPE_ASSET, parent_account_code=chart.CASH
    )
    a = (await stub.CreateAccount(req, metadata=CALLER)).account
    assert (a.account_code, a.account_name, a.account_type, a.parent_account_code, a.is_active) == (
        code,
        "Petty cash",
        pb.ACCOUNT_TYPE_ASSET,
        chart.CASH,
        True,
    )
    [event] = await events_since(db, mark)
    assert type(event).__name__ == "AccountCreated"
    assert (event.account_id, event.account_code, event.parent_account_code, event.is_active) == (
        a.id,
        code,
        chart.CASH,
        True,
    )


async def test_create_account_errors_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    ok = {"account_code": f"X{tag()}", "account_name": "Name", "account_type": pb.ACCOUNT_TYPE_ASSET}
    cases: list[tuple[dict[str, object], Code, tuple[str, ...]]] = [
        ({**ok, "account_code": ""}, Code.INVALID_ARGUMENT, ("account_code",)),
        ({**ok, "account_code": "x" * 21}, Code.INVALID_ARGUMENT, ("account_code",)),
        ({**ok, "account_code": "a b"}, Code.INVALID_ARGUMENT, ("account_code",)),
        ({**ok, "account_name": " "}, Code.INVALID_ARGUMENT, ("account_name",)),
        ({**ok, "account_name": "n" * 201}, Code.INVALID_ARGUMENT, ("account_name",)),
        ({**ok, "account_type": pb.ACCOUNT_TYPE_UNSPECIFIED}, Code.INVALID_ARGUMENT, ("account_type",)),
        ({**ok, "parent_account_code": "nope"}, Code.INVALID_ARGUMENT, ("parent_account_code",)),
        ({**ok, "parent_account_code": chart.LIABILITIES}, Code.INVALID_ARGUMENT, ("parent_account_code",)),
        ({**ok, "account_code": chart.CASH}, Code.ALREADY_EXISTS, ()),
    ]
    for values, code, fields in cases:
        req = api.CreateAccountRequest(**values)  # type: ignore[arg-type]
        await rejected(db, lambda req=req: stub.CreateAccount(req), code, fields=fields)


async def test_update_account(stub: Stub, db: asyncpg.Connection) -> None:
    a = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE)
    mark = await outbox_mark(db)
    resp = await stub.UpdateAccount(
        update(a.id, ["account_name", "parent_account_code", "is_active"], account_name="Travel",
               parent_account_code=chart.EXPENSES, is_active=False)
    )  # fmt: skip
    b = resp.account
    assert (b.account_name, b.parent_account_code, b.is_active) == ("Travel", chart.EXPENSES, False)
    [event] = await events_since(db, mark)
    assert type(event).__name__ == "AccountUpdated"
    assert list(event.changed_fields) == ["account_name", "is_active", "parent_account_code"]
    assert (event.account_name, event.parent_account_code, event.is_active) == ("Travel", chart.EXPENSES, False)
    assert event.HasField("is_active")

    mark = await outbox_mark(db)
    same = await stub.UpdateAccount(update(a.id, ["account_name"], account_name="Travel"))
    assert same.account.account_name == "Travel"
    assert await events_since(db, mark) == []  # no change, no event

    moved = await stub.UpdateAccount(update(a.id, ["parent_account_code", "is_active"], is_active=True))
    assert moved.account.parent_account_code == "" and moved.account.is_active


async def test_update_account_errors_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    top = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    mid = await create_account(stub, pb.ACCOUNT_TYPE_ASSET, parent=top.account_code)
    low = await create_account(stub, pb.ACCOUNT_TYPE_ASSET, parent=mid.account_code)
    cases: list[tuple[api.UpdateAccountRequest, Code, tuple[str, ...]]] = [
        (update(top.id, []), Code.INVALID_ARGUMENT, ("update_mask",)),
        (update(top.id, ["account_code"], account_code="1"), Code.INVALID_ARGUMENT, ("update_mask",)),
        (update(top.id, ["account_type"]), Code.INVALID_ARGUMENT, ("update_mask",)),
        (update("bad", ["is_active"]), Code.INVALID_ARGUMENT, ("account.id",)),
        (update(str(uuid.uuid4()), ["is_active"]), Code.NOT_FOUND, ()),
        (update(top.id, ["account_name"], account_name=""), Code.INVALID_ARGUMENT, ("account.account_name",)),
        (update(top.id, ["parent_account_code"], parent_account_code=low.account_code), Code.INVALID_ARGUMENT,
         ("account.parent_account_code",)),
        (update(top.id, ["parent_account_code"], parent_account_code=top.account_code), Code.INVALID_ARGUMENT,
         ("account.parent_account_code",)),
        (update(low.id, ["parent_account_code"], parent_account_code=chart.REVENUE), Code.INVALID_ARGUMENT,
         ("account.parent_account_code",)),
        (update(low.id, ["parent_account_code"], parent_account_code="nope"), Code.INVALID_ARGUMENT,
         ("account.parent_account_code",)),
    ]  # fmt: skip
    for req, code, fields in cases:
        await rejected(db, lambda req=req: stub.UpdateAccount(req), code, fields=fields)
