"""Every field declares its scope (gateway/auth/policy.py): a root field or a domain type added
without one fails here (and is refused to everyone at run time)."""

from __future__ import annotations

from erp.employee.v1 import employee_pb2
from graphql import GraphQLObjectType

from gateway.auth.policy import FIELD_SCOPES, TYPE_SCOPES, is_structural
from gateway.auth.roles import ROLES, SCOPES
from gateway.schema import schema
from services.runtime.redaction import sensitive_field_names

GRAPHQL = schema._schema


def test_every_root_field_declares_a_scope() -> None:
    missing = [
        f"{root}.{name}"
        for root in ("Query", "Mutation", "Subscription")
        for name in GRAPHQL.get_type(root).fields  # type: ignore[union-attr]
        if f"{root}.{name}" not in FIELD_SCOPES
    ]
    assert missing == [], f"declare the scope of {missing} in gateway/auth/policy.py"


def test_every_object_type_is_a_domain_type_or_structural() -> None:
    undeclared = [
        name
        for name, t in GRAPHQL.type_map.items()
        if isinstance(t, GraphQLObjectType)
        and not name.startswith("__")
        and name not in ("Query", "Mutation", "Subscription")
        and name not in TYPE_SCOPES
        and not is_structural(name)
    ]
    assert undeclared == [], f"declare the service scope of {undeclared} in gateway/auth/policy.py TYPE_SCOPES"


def test_declarations_name_real_fields_and_scopes() -> None:
    for key, scope in FIELD_SCOPES.items():
        type_name, field_name = key.split(".")
        t = GRAPHQL.get_type(type_name)
        assert isinstance(t, GraphQLObjectType) and field_name in t.fields, key
        assert scope == "" or scope in SCOPES, (key, scope)
    assert set(TYPE_SCOPES.values()) <= SCOPES
    for role, scopes in ROLES.items():
        assert scopes <= SCOPES, role


def test_sensitive_fields_need_the_sensitive_scope() -> None:
    employee = GRAPHQL.get_type("Employee")
    assert isinstance(employee, GraphQLObjectType)
    for name in sensitive_field_names(employee_pb2.Employee.DESCRIPTOR):
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        assert FIELD_SCOPES.get(f"Employee.{camel}") == "employee:sensitive", camel
    assert [r for r, s in ROLES.items() if "employee:sensitive" in s] == ["hr", "admin"]
    assert all(not s.endswith((":write", ":approve", ":sensitive")) for s in ROLES["auditor"])
