"""The CQRS read model: invoice_summary refreshed after writes, concurrently (readers never wait),
debounced; ListInvoiceSummaries reads it."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from erp.billing.v1 import billing_pb2 as pb
from erp.billing.v1 import billing_service_pb2 as api

from services.billing.read_model import CHANNEL, SummaryRefresher
from services.runtime.service import RunningService
from services.runtime.settings import Settings, to_libpq_url
from tests.billing.helpers import (
    Code,
    Stub,
    create_customer,
    create_invoice,
    day,
    days,
    issue,
    line,
    mask,
    pay,
    rpc_error,
    violation_fields,
)
from tests.billing.probes import overdue_job_paused
from tests.runtime.helpers import eventually


async def summaries(stub: Stub, customer_id: str, **kw: object) -> list[pb.InvoiceSummary]:
    request = api.ListInvoiceSummariesRequest(customer_ids=[customer_id], **kw)  # type: ignore[arg-type]
    return list((await stub.ListInvoiceSummaries(request)).invoice_summaries)


async def test_the_view_follows_billing_writes(stub: Stub) -> None:
    c = await create_customer(stub)
    inv = await create_invoice(stub, c.id, lines=[line("a"), line("b"), line("c")])

    async def listed() -> list[pb.InvoiceSummary]:
        return await summaries(stub, c.id)

    [s] = await eventually(listed, timeout_s=10)
    assert (s.id, s.invoice_number, s.customer_id, s.customer_name) == (inv.id, inv.invoice_number, c.id, c.name)
    assert (s.total_amount.value, s.paid_amount.value, s.status, s.line_item_count) == (
        "310.00",
        "0.00",
        pb.INVOICE_STATUS_PENDING,
        3,
    )

    sent = await issue(stub, inv)
    await pay(stub, sent, "10.00")

    async def paid() -> bool:
        [row] = await listed()
        return row.paid_amount.value == "10.00" and row.status == pb.INVOICE_STATUS_PARTIALLY_PAID

    await eventually(paid, timeout_s=10)
    await stub.UpdateCustomer(
        api.UpdateCustomerRequest(customer=pb.Customer(id=c.id, name="Renamed Co"), update_mask=mask("name"))
    )

    async def renamed() -> bool:
        return (await listed())[0].customer_name == "Renamed Co"

    await eventually(renamed, timeout_s=10)


async def test_list_invoice_summaries_pages_newest_number_first(stub: Stub) -> None:
    c = await create_customer(stub)
    made = [await create_invoice(stub, c.id) for _ in range(3)]

    async def three() -> bool:
        return len(await summaries(stub, c.id)) == 3

    await eventually(three, timeout_s=10)
    first = await stub.ListInvoiceSummaries(api.ListInvoiceSummariesRequest(customer_ids=[c.id], page_size=2))
    rest = await stub.ListInvoiceSummaries(
        api.ListInvoiceSummariesRequest(customer_ids=[c.id], page_size=2, page_token=first.next_page_token)
    )
    got = [s.invoice_number for s in [*first.invoice_summaries, *rest.invoice_summaries]]
    assert got == sorted((i.invoice_number for i in made), reverse=True)
    assert first.total_size == 3 and rest.next_page_token == ""
    err = await rpc_error(
        stub.ListInvoiceSummaries(api.ListInvoiceSummariesRequest(statuses=[42])), Code.INVALID_ARGUMENT
    )
    assert violation_fields(err) == ["statuses"]


async def test_summaries_read_overdue_before_the_job_stores_it(stub: Stub, db: asyncpg.Connection) -> None:
    c = await create_customer(stub)
    async with overdue_job_paused(db):
        inv = await issue(stub, await create_invoice(stub, c.id, invoice_date=day(days(-40)), due_date=day(days(-10))))

        async def refreshed() -> list[pb.InvoiceSummary]:
            return await summaries(stub, c.id, statuses=[pb.INVOICE_STATUS_OVERDUE])

        [s] = await eventually(refreshed, timeout_s=10)
        assert s.id == inv.id and s.status == pb.INVOICE_STATUS_OVERDUE
        assert await db.fetchval("SELECT status FROM invoice_summary WHERE id = $1", uuid.UUID(inv.id)) == "sent"
        assert await summaries(stub, c.id, statuses=[pb.INVOICE_STATUS_SENT]) == []


async def test_readers_are_not_blocked_by_a_concurrent_refresh(
    settings: Settings, stub: Stub, billing_service: RunningService
) -> None:
    """A refresh that has not finished (held open in a transaction) holds EXCLUSIVE on the view:
    SELECTs still answer at once. A plain REFRESH (ACCESS EXCLUSIVE) would make them wait."""
    url = to_libpq_url(settings.service_database_url("billing"))
    refresher, reader = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        await reader.execute("SET lock_timeout = '500ms'")
        c = await create_customer(stub)
        await create_invoice(stub, c.id)

        async def listed() -> bool:
            return len(await summaries(stub, c.id)) == 1

        await eventually(listed, timeout_s=10)
        async with refresher.transaction():
            # Allowed inside a transaction block (unlike CREATE INDEX CONCURRENTLY); the service
            # runs it outside one anyway, on its own connection.
            await refresher.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY invoice_summary")
            assert await reader.fetchval("SELECT count(*) FROM invoice_summary") >= 1
            assert await asyncio.wait_for(listed(), 1)  # the API reads it too
            modes = await reader.fetchval(
                "SELECT array_agg(mode) FROM pg_locks WHERE relation = 'invoice_summary'::regclass AND pid = $1",
                refresher.get_server_pid(),
            )
            assert "ExclusiveLock" in modes and "AccessExclusiveLock" not in modes
        async with refresher.transaction():
            await refresher.execute("REFRESH MATERIALIZED VIEW invoice_summary")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await reader.fetchval("SELECT count(*) FROM invoice_summary")
    finally:
        await refresher.close()
        await reader.close()


class _Timed(SummaryRefresher):
    """Records when each refresh starts."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.starts: list[float] = []

    async def refresh(self, conn: asyncpg.Connection) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        await super().refresh(conn)


async def test_refreshes_are_debounced(settings: Settings, billing_service: RunningService) -> None:
    url = to_libpq_url(settings.service_database_url("billing"))
    timed = _Timed(billing_service.deps.db, url, min_interval_s=0.2)
    timed.lock_key += 1  # its own leader lock: the service's refresher holds the real one
    stop = asyncio.Event()
    task = asyncio.create_task(timed.run(stop))
    notifier = await asyncpg.connect(url)
    try:
        await eventually(lambda: _at_least(timed, 1), timeout_s=10)  # the catch-up refresh
        loop = asyncio.get_running_loop()
        burst_start = loop.time()
        for _ in range(40):  # 40 commits in about 0.6 s
            await notifier.execute(f"NOTIFY {CHANNEL}")
            await asyncio.sleep(0.015)
        last_notify = loop.time()
        await asyncio.sleep(0.6)
        during = [t for t in timed.starts if t >= burst_start]
        assert 2 <= len(during) <= 6, during  # not 40
        gaps = [b - a for a, b in zip(timed.starts, timed.starts[1:], strict=False)]
        assert min(gaps) >= 0.19, gaps  # at most one refresh per 200 ms
        assert timed.starts[-1] >= last_notify - 0.05  # the last commits were refreshed too
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await notifier.close()


async def _at_least(timed: _Timed, n: int) -> bool:
    return timed.refreshes >= n
