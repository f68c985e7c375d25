"""Roles and the scopes each grants: the one table of who may do what.

A scope is `<domain>:<action>`; `read` reads a domain's entities, `write` changes them, `approve`
approves what someone else created (payroll runs, purchase orders above the threshold), and
`employee:sensitive` reads social security and bank account numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

DOMAINS = ("employee", "payroll", "accounting", "billing", "procurement", "inventory", "supply_chain", "finance")
READ = frozenset(f"{d}:read" for d in DOMAINS)
WRITE = frozenset(f"{d}:write" for d in DOMAINS)
EXTRA = frozenset({"employee:sensitive", "payroll:approve", "procurement:approve"})
SCOPES: frozenset[str] = READ | WRITE | EXTRA

ROLES: dict[str, frozenset[str]] = {
    "hr": frozenset({"employee:read", "employee:write", "employee:sensitive", "payroll:read"}),
    "payroll": frozenset(
        {"employee:read", "payroll:read", "payroll:write", "payroll:approve", "accounting:read", "finance:read"}
    ),
    "accountant": frozenset(
        {
            "accounting:read",
            "accounting:write",
            "billing:read",
            "procurement:read",
            "inventory:read",
            "payroll:read",
            "finance:read",
            "employee:read",
        }
    ),
    "ar_clerk": frozenset({"billing:read", "billing:write", "accounting:read", "inventory:read"}),
    "ap_clerk": frozenset({"procurement:read", "procurement:write", "accounting:read", "inventory:read"}),
    "warehouse": frozenset(
        {"inventory:read", "inventory:write", "procurement:read", "supply_chain:read", "billing:read"}
    ),
    "logistics": frozenset({"supply_chain:read", "supply_chain:write", "inventory:read", "inventory:write"}),
    "finance_manager": READ
    | frozenset({"finance:write", "accounting:write", "payroll:approve", "procurement:approve"}),
    "auditor": READ,  # read-only everywhere, nothing sensitive
    "admin": SCOPES,
}


def scopes_of(roles: Iterable[str]) -> frozenset[str]:
    """The scopes the roles grant together (unknown roles grant nothing)."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLES.get(role, frozenset())
    return frozenset(granted)
