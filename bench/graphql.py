"""The gateway as a client sees it: introspection, and the read query built from what the
schema offers (the deep payroll -> journal entry -> account path only once the gateway has it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

INTROSPECT = """{ __schema { mutationType { fields { name } } types { name fields {
  name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"""

SHALLOW = "id firstName lastName department { id name manager { id firstName lastName } }"


@dataclass(frozen=True)
class Field:
    name: str
    type_name: str
    args: tuple[str, ...]


class Schema:
    def __init__(self, body: dict[str, Any]) -> None:
        schema = body["data"]["__schema"]
        self.types: dict[str, dict[str, Field]] = {}
        for t in schema["types"]:
            self.types[t["name"]] = {
                f["name"]: Field(f["name"], _base(f["type"]), tuple(a["name"] for a in f["args"]))
                for f in t["fields"] or []
            }
        self.mutations = {f["name"] for f in (schema["mutationType"] or {}).get("fields") or []}

    def field_of_type(self, owner: str, *targets: str) -> Field | None:
        for f in self.types.get(owner, {}).values():
            if f.type_name in targets:
                return f
        return None


def _base(t: dict[str, Any]) -> str:
    while t.get("ofType"):
        t = t["ofType"]
    return str(t["name"])


async def introspect(http: httpx.AsyncClient, url: str) -> Schema:
    reply = await http.post(url, json={"query": INTROSPECT}, timeout=30)
    reply.raise_for_status()
    return Schema(reply.json())


def deep_selection(schema: Schema) -> str | None:
    """employee -> payroll records (3) -> journal entry -> lines -> account, if the schema has it."""
    records = schema.field_of_type("Employee", "PayrollRecordConnection", "PayrollRecord")
    entry = schema.field_of_type("PayrollRecord", "JournalEntry")
    lines = schema.types.get("JournalEntry", {}).get("lines")
    account = schema.field_of_type("JournalEntryLine", "Account")
    if not (records and entry and lines and account):
        return None
    limit = next((a for a in ("first", "last", "limit") if a in records.args), None)
    if limit is None:
        return None
    line = pick(schema, "JournalEntryLine", "lineNumber accountCode debitAmount creditAmount")
    acct = pick(schema, "Account", "accountCode accountName")
    head = pick(schema, "JournalEntry", "id journalNumber entryDate")
    rec = pick(schema, "PayrollRecord", "id payPeriodStart grossPay netPay")
    record = f"{rec} {entry.name} {{ {head} lines {{ {line} {account.name} {{ {acct} }} }} }}"
    inner = f"edges {{ node {{ {record} }} }}" if records.type_name.endswith("Connection") else record
    return f"{records.name}({limit}: 3) {{ {inner} }}"


def pick(schema: Schema, owner: str, names: str) -> str:
    """The scalar fields among `names` that `owner` has (so the query stays valid as the schema moves)."""
    fields = schema.types.get(owner, {})
    return " ".join(n for n in names.split() if n in fields) or "__typename"


def read_query(schema: Schema) -> tuple[str, bool]:
    """The read query and whether it is the deep one (4 cross-service hops)."""
    deep = deep_selection(schema)
    node = SHALLOW + (f" {deep}" if deep else "")
    return f"query Read($first: Int!) {{ employees(first: $first) {{ edges {{ node {{ {node} }} }} }} }}", bool(deep)


async def post(http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL request; raises on HTTP errors and on GraphQL errors."""
    reply = await http.post(url, json={"query": query, "variables": variables}, headers=HEADERS)
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors'][:2]}")
    return body


HEADERS = {"x-erp-user-id": "00000000-0000-4000-8000-00000000b0b0"}
