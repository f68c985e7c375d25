"""The prefetch (gateway/prefetch.py) loads a root field's selection level by level before
graphql-core walks it: every loader-backed field then resolves without awaiting, with the same
data, the same RPCs and the same errors as without it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import gateway.loaded
import gateway.prefetch
from gateway.loaded import then
from tests.gateway.payroll_data import PaidOrg
from tests.gateway.support import Gql

DEEP = """
query Deep($tag: String!, $first: Int!, $skipLines: Boolean!) {
  employees(filter: {query: $tag}, first: $first) {
    edges { node {
      id
      department { name manager { lastName } }
      records: payrollRecords(first: 3) {
        edges { node {
          id grossPay
          ...Entry
        } }
      }
    } }
  }
}
fragment Entry on PayrollRecord {
  journalEntry {
    id journalNumber
    lines @skip(if: $skipLines) { lineNumber accountCode account { accountCode accountName } }
  }
}
"""


@pytest.fixture
def awaited(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every loader-backed field that had to wait for its data."""
    waits: list[object] = []
    slow_path = gateway.loaded._later

    def counted(future: Awaitable[Any], finish: Callable[[Any], Any]) -> Awaitable[Any]:
        waits.append(future)
        return slow_path(future, finish)

    monkeypatch.setattr(gateway.loaded, "_later", counted)
    return waits


@pytest.mark.parametrize("skip_lines", [False, True])
async def test_a_deep_read_resolves_every_loaded_field_without_waiting(
    gql: Gql, paid: PaidOrg, awaited: list[object], monkeypatch: pytest.MonkeyPatch, skip_lines: bool
) -> None:
    variables = {"tag": paid.org.tag, "first": 30, "skipLines": skip_lines}

    data, rpcs = await gql.counted(DEEP, variables)

    assert awaited == []
    entry = data["employees"]["edges"][0]["node"]["records"]["edges"][0]["node"]["journalEntry"]
    assert ("lines" in entry) is not skip_lines
    if not skip_lines:
        assert {line["accountCode"] for line in entry["lines"]} >= {"5200", "2100"}
        assert all(line["account"]["accountCode"] == line["accountCode"] for line in entry["lines"])
    assert "BatchGetAccountsByCode" not in rpcs if skip_lines else rpcs["BatchGetAccountsByCode"] == 1

    async def no_prefetch(*_args: object) -> None:
        return None

    monkeypatch.setattr(gateway.prefetch, "prefetch", no_prefetch)
    unprefetched, unprefetched_rpcs = await gql.counted(DEEP, variables)

    assert unprefetched == data
    assert unprefetched_rpcs == rpcs
    assert awaited  # without the prefetch, the fields wait for their level's batch


async def test_a_field_that_fails_reports_its_error_as_without_prefetch(
    gql: Gql, paid: PaidOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_cursor = DEEP.replace("payrollRecords(first: 3)", 'payrollRecords(first: 3, after: "nope")')
    variables = {"tag": paid.org.tag, "first": 3, "skipLines": False}

    body = await gql.raw(bad_cursor, variables)

    assert [edge["node"]["records"] for edge in body["data"]["employees"]["edges"]] == [None] * 3
    assert [(e["path"][-1], e["extensions"]["code"]) for e in body["errors"]] == [("records", "BAD_USER_INPUT")] * 3
    monkeypatch.setattr(gateway.prefetch, "prefetch", lambda *_args: asyncio.sleep(0))
    assert await gql.raw(bad_cursor, variables) == body


async def test_then_finishes_at_once_when_the_future_is_done() -> None:
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    done.set_result(20)
    assert then(done, lambda v: v + 1) == 21

    pending: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    later = then(pending, lambda v: v + 1)
    assert isinstance(later, Awaitable)
    pending.set_result(1)
    assert await later == 2
