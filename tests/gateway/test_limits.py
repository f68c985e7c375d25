"""Each operation limit refuses the request before any RPC is made, with a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.call_policy import RPC_COUNTER
from gateway.config import GatewayConfig, Limits
from services.runtime.service import RunningService
from services.runtime.settings import Settings

LIMITS = Limits(max_depth=8, max_aliases=3, max_root_fields=3, max_cost=2000, default_list_size=10, max_tokens=400)


@pytest.fixture(scope="module")
async def limited_app(gateway_settings: Settings, employee_service: RunningService) -> AsyncIterator[Starlette]:
    app = create_app(gateway_settings, GatewayConfig(limits=replace(LIMITS, introspection=False)))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(limited_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited_app), base_url="http://gateway") as c:
        yield c


async def refused(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error of a request refused before any RPC (status 400 under graphql-response+json)."""
    RPC_COUNTER.reset()
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"accept": "application/graphql-response+json"},
    )
    assert RPC_COUNTER.total == 0, RPC_COUNTER.by_name()
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body
    [error] = body["errors"]
    return error


DEEP = "{ employees { edges { node { department { manager { department { manager { department { id } } } } } } } } }"


@pytest.mark.parametrize(
    ("query", "variables", "code", "actual"),
    [
        (DEEP, None, "QUERY_TOO_DEEP", 9),
        ("{ departments { a: totalCount b: totalCount c: totalCount d: totalCount } }", None, "TOO_MANY_ALIASES", 4),
        (
            "{ departments { totalCount } employees { totalCount } inventoryItems { totalCount } "
            "vendors { totalCount } }",
            None,
            "TOO_MANY_ROOT_FIELDS",
            4,
        ),
        # 1 + 1000 edges x (edges, node, id, department, name)
        (
            "query($n: Int) { employees(first: $n) { edges { node { id department { name } } } } }",
            {"n": 1000},
            "QUERY_TOO_COMPLEX",
            5001,
        ),
    ],
)
async def test_each_limit_refuses_before_any_rpc(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None, code: str, actual: int
) -> None:
    error = await refused(client, query, variables)

    assert error["extensions"]["code"] == code
    assert error["extensions"]["actual"] == actual
    assert "at most" in error["message"]


async def test_fragments_count_where_they_are_spread(client: httpx.AsyncClient) -> None:
    query = """query { departments(first: 40) { edges { node { ...D } } } }
      fragment D on Department { employees(first: 40) { edges { node { id lastName } } } }"""

    error = await refused(client, query)

    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["actual"] > 2000


async def test_a_fragment_bomb_is_measured_without_expanding_it(client: httpx.AsyncClient) -> None:
    fragments = "\n".join(f"fragment F{i} on Department {{ ...F{i + 1} ...F{i + 1} }}" for i in range(10))
    query = "{ departments(first: 1) { edges { node { ...F0 } } } }\n" + fragments
    query += "\nfragment F10 on Department { a: id }"

    error = await refused(client, query)

    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert error["extensions"]["actual"] == 2**10


async def test_introspection_can_be_disabled(client: httpx.AsyncClient) -> None:
    error = await refused(client, "{ __schema { types { name } } }")

    assert error["extensions"]["code"] == "INTROSPECTION_DISABLED"
    # __typename is not introspection, and federation's _service stays available to a router
    response = await client.post("/graphql", json={"query": "{ __typename _service { sdl } }"})
    assert response.json()["data"]["__typename"] == "Query"


async def test_too_many_tokens_are_refused_while_parsing(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f"f{i}: __typename" for i in range(200)) + " }"

    error = await refused(client, query)

    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"


async def test_a_query_within_the_limits_runs(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ departments(first: 5) { edges { node { name } } } }"})

    assert response.status_code == 200
    assert "errors" not in response.json()


def test_limits_come_from_the_environment() -> None:
    config = GatewayConfig.from_env(
        {
            "ERP_GATEWAY_MAX_DEPTH": "7",
            "ERP_GATEWAY_MAX_ALIASES": "8",
            "ERP_GATEWAY_MAX_ROOT_FIELDS": "9",
            "ERP_GATEWAY_MAX_COST": "1234",
            "ERP_GATEWAY_DEFAULT_LIST_SIZE": "5",
            "ERP_GATEWAY_MAX_TOKENS": "999",
            "ERP_GATEWAY_INTROSPECTION": "false",
            "ERP_GATEWAY_BREAKER_FAILURES": "2",
            "ERP_GATEWAY_BREAKER_COOLDOWN_MS": "1500",
            "ERP_GATEWAY_SUBSCRIPTION_QUEUE": "16",
            "ERP_GATEWAY_APQ": "off",
        }
    )

    assert config.limits == Limits(7, 8, 9, 1234, 5, 999, False)
    assert (config.breaker_failures, config.breaker_cooldown_s, config.subscription_queue) == (2, 1.5, 16)
    assert config.apq is False
    assert GatewayConfig.from_env({}) == GatewayConfig()
