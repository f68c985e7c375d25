"""The executor's short paths (gateway/execution.py, gateway/direct.py) answer exactly as
graphql-core's general path: same data, same errors (messages, paths, nulls propagated)."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry

from gateway.direct import install
from gateway.execution import GatewayExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"


@strawberry.type
class Leaf:
    name: str
    maybe: str | None
    colour: Colour
    count: int


@strawberry.type
class Branch:
    leaves: list[Leaf | None]
    first: Leaf
    other: Leaf | None


@strawberry.type
class Query:
    @strawberry.field
    def branch(self) -> Branch | None:
        good = Leaf(name="a", maybe=None, colour=Colour.RED, count=1)
        broken = Leaf(name=None, maybe="x", colour=Colour.RED, count=2)  # type: ignore[arg-type]
        wrong = Leaf(name="c", maybe=None, colour="BLUE", count="three")  # type: ignore[arg-type]
        return Branch(leaves=[good, broken, wrong], first=good, other=broken)


QUERY = "{ branch { leaves { name maybe colour count } first { name colour } other { name maybe } } }"


def result(short_paths: bool) -> dict[str, Any]:
    if short_paths:
        schema = strawberry.Schema(Query, execution_context_class=GatewayExecutionContext)
        assert install(schema._schema) > 0
    else:
        schema = strawberry.Schema(Query)
    outcome = schema.execute_sync(QUERY)
    errors = sorted((e.message, tuple(e.path or ())) for e in outcome.errors or [])
    return {"data": outcome.data, "errors": errors}


@pytest.mark.parametrize("attempt", [1, 2])
def test_short_paths_answer_as_graphql_core(attempt: int) -> None:
    expected, actual = result(short_paths=False), result(short_paths=True)

    assert actual == expected
    good = {"name": "a", "maybe": None, "colour": "RED", "count": 1}
    assert expected["data"] == {
        "branch": {"leaves": [good, None, None], "first": {"name": "a", "colour": "RED"}, "other": None}
    }
    assert {path[:3] for _, path in expected["errors"]} == {
        ("branch", "leaves", 1),
        ("branch", "leaves", 2),
        ("branch", "other", "name"),
    }
