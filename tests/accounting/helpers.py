"""Builders, error assertions and SQL probes for the accounting tests.

The database is shared by the whole session, so tests isolate themselves: each takes fresh
fiscal years (`fresh_year`) and fresh account codes (`create_account`) where exact figures
matter, and checks global invariants (trial balance, running balances) that hold anyway.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import pytest
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from erp.accounting.v1 import accounting_service_pb2_grpc as api_grpc
from erp.accounting.v1 import events_pb2 as ev
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.grpc_errors import field_violations

Stub = api_grpc.AccountingServiceStub
Code = grpc.StatusCode

USER_ID = str(uuid.uuid4())
CALLER = (("x-erp-user-id", USER_ID),)

_years = itertools.count(2101)


def fresh_year() -> int:
    """A fiscal year no other test touches (journal numbers, periods and closes are per year)."""
    return next(_years)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def day(year: int, month: int, d: int) -> Date:
    return Date(year=year, month=month, day=d)


def pb_date(value: date) -> Date:
    return Date(year=value.year, month=value.month, day=value.day)


def D(value: PbDecimal | str) -> Decimal:
    return Decimal(value if isinstance(value, str) else value.value)


def dr(code: str, amount: str, description: str = "") -> api.JournalEntryLineInput:
    return api.JournalEntryLineInput(account_code=code, debit_amount=dec(amount), description=description)


def cr(code: str, amount: str, description: str = "") -> api.JournalEntryLineInput:
    return api.JournalEntryLineInput(account_code=code, credit_amount=dec(amount), description=description)


def post_request(when: Date, *lines: api.JournalEntryLineInput, **fields: Any) -> api.PostJournalEntryRequest:
    values: dict[str, Any] = {"entry_date": when, "description": f"test {tag()}", "lines": list(lines)}
    values.update(fields)
    return api.PostJournalEntryRequest(**values)


async def post(stub: Stub, when: Date, *lines: api.JournalEntryLineInput, **fields: Any) -> pb.JournalEntry:
    return (await stub.PostJournalEntry(post_request(when, *lines, **fields), metadata=CALLER)).journal_entry


async def create_account(stub: Stub, account_type: int, *, parent: str = "", name: str = "") -> pb.Account:
    req = api.CreateAccountRequest(
        account_code=f"T{tag()}",
        account_name=name or f"Test account {tag()}",
        account_type=account_type,
        parent_account_code=parent,
    )
    return (await stub.CreateAccount(req, metadata=CALLER)).account


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


# ---- "nothing written" ---------------------------------------------------------------------------

# Small tables are compared row by row; the append-only ones by count (and balance sum).
_SNAPSHOT_SQL = """
SELECT
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM chart_of_accounts t) AS accounts,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM fiscal_periods t) AS periods,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM journal_entries t) AS entries,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.year), '')) FROM journal_sequences t) AS sequences,
  (SELECT count(*) FROM journal_entry_lines) AS lines,
  (SELECT count(*) || '/' || coalesce(sum(running_balance), 0) FROM general_ledger) AS ledger,
  (SELECT count(*) FROM event_store) AS event_store,
  (SELECT count(*) FROM outbox) AS outbox
"""


async def snapshot(db: asyncpg.Connection) -> dict[str, Any]:
    return dict(await db.fetchrow(_SNAPSHOT_SQL))


@asynccontextmanager
async def nothing_written(db: asyncpg.Connection) -> AsyncIterator[None]:
    before = await snapshot(db)
    yield
    assert await snapshot(db) == before


async def rejected(
    db: asyncpg.Connection, call: Callable[[], Awaitable[Any]], code: grpc.StatusCode, *, fields: tuple[str, ...] = ()
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code`, names `fields` as violations and writes nothing."""
    async with nothing_written(db):
        err = await rpc_error(call(), code)
    for name in fields:
        assert name in violation_fields(err), (name, field_violations(err))
    return err


# ---- events --------------------------------------------------------------------------------------


async def outbox_mark(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def events_since(db: asyncpg.Connection, mark: int, event_type: str | None = None) -> list[Message]:
    """Events recorded after `mark` (decoded), checking each has its event_store twin."""
    rows = await db.fetch(
        "SELECT o.event_type, o.payload, (s.id IS NOT NULL) AS stored FROM outbox o "
        "LEFT JOIN event_store s ON s.id = o.event_id WHERE o.id > $1 ORDER BY o.id",
        mark,
    )
    out: list[Message] = []
    for r in rows:
        assert r["stored"], "outbox row without event_store row"
        if event_type is not None and r["event_type"] != f"erp.accounting.v1.{event_type}":
            continue
        msg = getattr(ev, r["event_type"].rsplit(".", 1)[1])()
        msg.ParseFromString(r["payload"])
        out.append(msg)
    return out


# ---- books ---------------------------------------------------------------------------------------

FAR_FUTURE = day(9999, 12, 31)

_LEDGER_CHECK = """
SELECT count(*) FILTER (WHERE running_balance <> expected) AS wrong, count(*) AS rows
FROM (
  SELECT gl.running_balance,
         sum(CASE WHEN a.account_type IN ('asset', 'expense') THEN gl.debit_amount - gl.credit_amount
                  ELSE gl.credit_amount - gl.debit_amount END)
           OVER (PARTITION BY gl.account_code ORDER BY gl.transaction_date, gl.seq) AS expected
  FROM general_ledger gl JOIN chart_of_accounts a USING (account_code)
) t
"""


async def assert_books_balanced(stub: Stub, db: asyncpg.Connection) -> None:
    """The trial balance nets to zero; every running balance equals the sum of the lines up to
    its row; the ledger has exactly one row per posted journal line."""
    tb = (await stub.GetTrialBalance(api.GetTrialBalanceRequest(as_of_date=FAR_FUTURE))).trial_balance
    assert tb.balanced
    assert D(tb.total_debit) == D(tb.total_credit)
    assert sum(D(x.debit_balance) - D(x.credit_balance) for x in tb.lines) == 0
    check = await db.fetchrow(_LEDGER_CHECK)
    assert check["wrong"] == 0, f"{check['wrong']} of {check['rows']} running balances are wrong"
    lines = await db.fetchval("SELECT count(*) FROM journal_entry_lines")
    assert check["rows"] == lines


async def ledger_rows(db: asyncpg.Connection, account_code: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT transaction_date, seq, debit_amount, credit_amount, running_balance, journal_entry_id "
        "FROM general_ledger WHERE account_code = $1 ORDER BY transaction_date, seq",
        account_code,
    )
    return [dict(r) for r in rows]
