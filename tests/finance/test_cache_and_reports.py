"""The accounting cache kept from events (running rows per account, back-dated entries, renames),
and the report and rebuild RPCs' error paths when accounting cannot be reached (no accounting runs
for this package: its address is a free port)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import pytest
from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.accounting.v1 import events_pb2 as acc_ev
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from nats.aio.client import Client

from services.finance.remote import Accounting, Departments
from services.ops.embedded import free_port
from services.runtime.errors import Unavailable
from services.runtime.settings import Settings
from tests.finance.helpers import (
    Code,
    D,
    Stub,
    day,
    fake_code,
    journal_entry_posted,
    processed_result,
    publish,
    rejected,
    rpc_error,
)
from tests.runtime.helpers import eventually


async def _send(nats: Client, settings: Settings, db: asyncpg.Connection, message: Any) -> Any:
    event_id = await publish(nats, settings, message)

    async def applied() -> Any:
        return await processed_result(db, event_id)

    return await eventually(applied, timeout_s=10)


async def _rows(db: asyncpg.Connection, code: str) -> list[tuple[Any, Decimal]]:
    rows = await db.fetch(
        "SELECT as_of_date, balance FROM accounting_data_cache WHERE account_code = $1 ORDER BY as_of_date", code
    )
    return [(r["as_of_date"].isoformat(), r["balance"]) for r in rows]


async def test_cache_keeps_running_balances_from_events_even_back_dated(
    stub: Stub, nats_client: Client, finance_settings: Settings, db: asyncpg.Connection
) -> None:
    asset, liability = fake_code("A"), fake_code("L")

    def entry(when: Any, amount: str) -> acc_ev.JournalEntryPosted:
        return journal_entry_posted(when, [(asset, amount, "0"), (liability, "0", amount)], source_service="manual")

    send = _send
    await send(nats_client, finance_settings, db, entry(day(2060, 3, 10), "100.00"))
    await send(nats_client, finance_settings, db, entry(day(2060, 3, 20), "30.00"))
    await send(nats_client, finance_settings, db, entry(day(2060, 3, 5), "50.00"))  # back-dated
    await send(
        nats_client,
        finance_settings,
        db,
        journal_entry_posted(day(2060, 3, 10), [(liability, "20.00", "0"), (asset, "0", "20.00")]),
    )
    assert await _rows(db, asset) == [
        ("2060-03-05", D("50.00")),
        ("2060-03-10", D("130.00")),
        ("2060-03-20", D("160.00")),
    ]
    assert await _rows(db, liability) == await _rows(db, asset)  # credit-normal: same figures
    cached = await stub.GetAccountingCache(api.GetAccountingCacheRequest(account_codes=[liability, asset]))
    assert [(e.account_code, D(e.balance), e.as_of_date) for e in cached.entries] == sorted(
        [(asset, D("160"), day(2060, 3, 20)), (liability, D("160"), day(2060, 3, 20))]
    )
    assert [e.account_type for e in cached.entries] == sorted(
        [acc_pb.ACCOUNT_TYPE_ASSET, acc_pb.ACCOUNT_TYPE_LIABILITY],
        key=lambda t: {acc_pb.ACCOUNT_TYPE_ASSET: asset, acc_pb.ACCOUNT_TYPE_LIABILITY: liability}[t],
    )
    assert cached.HasField("last_synced_at")

    renamed = acc_ev.AccountUpdated(
        account_id=str(uuid.uuid4()), account_code=asset, changed_fields=["account_name"], account_name="Vault"
    )
    result = await send(nats_client, finance_settings, db, renamed)
    assert result == {"renamed_rows": 3}
    cached = await stub.GetAccountingCache(api.GetAccountingCacheRequest(account_codes=[asset]))
    assert [e.account_name for e in cached.entries] == ["Vault"]


async def _unavailable(db: asyncpg.Connection, call: Awaitable[Any]) -> None:
    err = await rejected(db, call, Code.UNAVAILABLE)
    assert "accounting" in (err.details() or "")


async def test_reports_and_rebuild_need_accounting(stub: Stub, db: asyncpg.Connection) -> None:
    for kind in (
        pb.FINANCIAL_REPORT_TYPE_INCOME_STATEMENT,
        pb.FINANCIAL_REPORT_TYPE_BALANCE_SHEET,
        pb.FINANCIAL_REPORT_TYPE_CASH_FLOW,
    ):
        request = api.GenerateFinancialReportRequest(
            report_type=kind, period_start=day(2060, 1, 1), period_end=day(2060, 3, 31)
        )
        await _unavailable(db, stub.GenerateFinancialReport(request))
    await _unavailable(db, stub.RebuildAccountingCache(api.RebuildAccountingCacheRequest()))


async def test_report_requests_are_validated(stub: Stub, db: asyncpg.Connection) -> None:
    await rejected(
        db,
        stub.GenerateFinancialReport(api.GenerateFinancialReportRequest()),
        Code.INVALID_ARGUMENT,
        fields=("report_type", "period_start", "period_end"),
    )
    backwards = api.GenerateFinancialReportRequest(
        report_type=pb.FINANCIAL_REPORT_TYPE_INCOME_STATEMENT, period_start=day(2060, 2, 1), period_end=day(2060, 1, 1)
    )
    await rejected(db, stub.GenerateFinancialReport(backwards), Code.INVALID_ARGUMENT, fields=("period_end",))
    await rpc_error(stub.GetFinancialReport(api.GetFinancialReportRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    await rpc_error(stub.ListFinancialReports(api.ListFinancialReportsRequest(report_types=[9])), Code.INVALID_ARGUMENT)
    await rpc_error(
        stub.RebuildAccountingCache(api.RebuildAccountingCacheRequest(as_of_date=day(2060, 2, 31))),
        Code.INVALID_ARGUMENT,
    )
    await rpc_error(
        stub.GetAccountingCache(api.GetAccountingCacheRequest(account_codes=["x" * 21])), Code.INVALID_ARGUMENT
    )
    await rpc_error(stub.GetBudgetVsActual(api.GetBudgetVsActualRequest(fiscal_year=0)), Code.INVALID_ARGUMENT)
    await rpc_error(
        stub.ListBudgetTransactions(api.ListBudgetTransactionsRequest(budget_id=str(uuid.uuid4()))), Code.NOT_FOUND
    )
    await rpc_error(
        stub.ListUnattributedSpend(
            api.ListUnattributedSpendRequest(start_date=day(2060, 2, 1), end_date=day(2060, 1, 1))
        ),
        Code.INVALID_ARGUMENT,
    )


async def test_a_dependency_that_is_down_is_unavailable() -> None:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    try:
        with pytest.raises(Unavailable, match="employee"):
            await Departments(channel, 2.0).exists("Sales")
        with pytest.raises(Unavailable, match="accounting"):
            await Accounting(channel, 2.0).trial_balance(date(2060, 1, 1))
    finally:
        await channel.close()
