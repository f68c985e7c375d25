"""GraphQL over HTTP: GET and POST, media types and status codes, malformed requests, automatic
persisted queries and trusted documents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.call_policy import RPC_COUNTER
from gateway.config import GatewayConfig
from gateway.documents import sha256
from services.runtime.service import RunningService
from services.runtime.settings import Settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
DEPARTMENTS = "{ departments(first: 1) { totalCount } }"
CREATE_DEPARTMENT = 'mutation { createDepartment(input: {name: "X", code: "X"}) { id } }'


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_get_runs_a_query(gateway_client: httpx.AsyncClient) -> None:
    response = await gateway_client.get(
        "/graphql",
        params={"query": "query($n: Int) { departments(first: $n) { totalCount } }", "variables": '{"n": 1}'},
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"]["departments"]["totalCount"] >= 0


async def test_a_mutation_over_get_is_405_and_makes_no_rpc(gateway_client: httpx.AsyncClient) -> None:
    RPC_COUNTER.reset()
    response = await gateway_client.get("/graphql", params={"query": CREATE_DEPARTMENT})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert errors_of(response)[0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert RPC_COUNTER.total == 0


async def test_graphql_response_json_is_used_when_accepted(gateway_client: httpx.AsyncClient) -> None:
    ok = await gateway_client.post("/graphql", json={"query": DEPARTMENTS}, headers={"accept": GRAPHQL_RESPONSE})
    invalid = await gateway_client.post(
        "/graphql", json={"query": "{ nonsense }"}, headers={"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    )
    legacy = await gateway_client.post(
        "/graphql", json={"query": "{ nonsense }"}, headers={"accept": "application/json"}
    )

    assert (ok.status_code, ok.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    # A request error: 400 without `data` under graphql-response+json, 200 under application/json.
    assert (invalid.status_code, invalid.headers["content-type"]) == (400, GRAPHQL_RESPONSE)
    assert "data" not in invalid.json()
    assert errors_of(invalid)[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")
    syntax = await gateway_client.post(
        "/graphql", json={"query": "{ departments("}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert syntax.status_code == 400
    assert errors_of(syntax)[0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    ("content", "headers", "status", "message"),
    [
        (b'{"query": "{ departments { totalCount } "', {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"query=%7B%7D", {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported content type"),
        (b"{ departments { totalCount } }", {"content-type": "application/graphql"}, 415, "unsupported content type"),
        (b'{"query": "{ departments { totalCount } }"}', {}, 415, "Content-Type"),
        (b'{"variables": {}}', {"content-type": "application/json"}, 400, "missing `query`"),
        (b'{"query": 42}', {"content-type": "application/json"}, 400, "`query` must be a string"),
        (b'{"query": "{ __typename }", "variables": [1]}', {"content-type": "application/json"}, 400, "`variables`"),
        (b'[{"query": "{ __typename }"}]', {"content-type": "application/json"}, 400, "batched"),
        (b'"{ __typename }"', {"content-type": "application/json"}, 400, "JSON object"),
    ],
)
async def test_malformed_requests_get_clear_errors(
    gateway_client: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    RPC_COUNTER.reset()
    response = await gateway_client.post("/graphql", content=content, headers=headers)

    assert response.status_code == status, response.text
    [error] = errors_of(response)
    assert message in error["message"]
    assert RPC_COUNTER.total == 0


async def test_other_methods_and_media_types_are_refused(gateway_client: httpx.AsyncClient) -> None:
    put = await gateway_client.put("/graphql", json={"query": DEPARTMENTS})
    xml = await gateway_client.post("/graphql", json={"query": DEPARTMENTS}, headers={"accept": "application/xml"})
    bad_variables = await gateway_client.get("/graphql", params={"query": DEPARTMENTS, "variables": "{nope"})
    subscription = await gateway_client.post("/graphql", json={"query": "subscription { stockLevelChanged { sku } }"})

    assert (put.status_code, put.headers["allow"]) == (405, "GET, POST")
    assert xml.status_code == 406
    assert bad_variables.status_code == 400
    assert subscription.status_code == 405
    assert "WebSocket" in errors_of(subscription)[0]["message"]


# ---- automatic persisted queries --------------------------------------------------------------


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_apq_miss_register_hit(gateway_client: httpx.AsyncClient) -> None:
    query = "query Apq { departments(first: 2) { totalCount } } # " + sha256(str(id(object())))
    digest = sha256(query)

    RPC_COUNTER.reset()
    miss = await gateway_client.post("/graphql", json={"extensions": persisted(digest)})
    assert RPC_COUNTER.total == 0
    registered = await gateway_client.post("/graphql", json={"query": query, "extensions": persisted(digest)})
    hit = await gateway_client.post("/graphql", json={"extensions": persisted(digest)})
    hit_by_get = await gateway_client.get("/graphql", params={"extensions": json.dumps(persisted(digest))})

    assert miss.status_code == 200
    [error] = errors_of(miss)
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json()["data"] == hit.json()["data"] == hit_by_get.json()["data"]
    assert "totalCount" in hit.json()["data"]["departments"]


async def test_apq_refuses_a_hash_that_is_not_the_querys(gateway_client: httpx.AsyncClient) -> None:
    response = await gateway_client.post(
        "/graphql", json={"query": DEPARTMENTS, "extensions": persisted(sha256("something else"))}
    )
    malformed = await gateway_client.post("/graphql", json={"extensions": persisted("not-a-hash")})

    assert errors_of(response)[0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert errors_of(malformed)[0]["extensions"]["code"] == "BAD_REQUEST"


# ---- trusted documents ------------------------------------------------------------------------

TRUSTED = "query Trusted { departments(first: 1) { totalCount } }"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trusted") / "trusted-documents.json"
    path.write_text(json.dumps({sha256(TRUSTED): TRUSTED}))
    return path


@pytest.fixture(scope="module")
async def trusted_app(
    gateway_settings: Settings, employee_service: RunningService, manifest: Path
) -> AsyncIterator[Starlette]:
    app = create_app(gateway_settings, GatewayConfig(trusted_documents=(manifest,)))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def trusted_client(trusted_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=trusted_app), base_url="http://gateway") as c:
        yield c


async def test_trusted_documents_run_and_nothing_else(trusted_client: httpx.AsyncClient) -> None:
    by_hash = await trusted_client.post("/graphql", json={"extensions": persisted(sha256(TRUSTED))})
    by_text = await trusted_client.post("/graphql", json={"query": TRUSTED})
    RPC_COUNTER.reset()
    other = await trusted_client.post("/graphql", json={"query": "{ employees(first: 1) { totalCount } }"})
    unknown = await trusted_client.post("/graphql", json={"extensions": persisted(sha256("{ __typename }"))})
    registering = await trusted_client.post(
        "/graphql", json={"query": "{ __typename }", "extensions": persisted(sha256("{ __typename }"))}
    )

    assert by_hash.json()["data"] == by_text.json()["data"]
    assert "totalCount" in by_hash.json()["data"]["departments"]
    assert errors_of(other)[0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
    assert errors_of(unknown)[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert errors_of(registering)[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"  # no APQ registration
    assert RPC_COUNTER.total == 0
    strict = await trusted_client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert strict.status_code == 400
