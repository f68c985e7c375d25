"""`erp token --role <role> --user <uuid> [--ttl 3600]`: a bearer token for development and tests,
signed by the data directory's development key (created on first use, with the public JWKS the
gateway reads beside it: gateway/auth/devkey.py). A gateway with ERP_ENV=production refuses it."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import Any

from gateway.auth.devkey import issue_token
from gateway.auth.roles import ROLES
from services.runtime.settings import Settings

MAX_TTL_S = 7 * 24 * 3600


def cmd_token(ns: argparse.Namespace) -> int:
    settings = Settings.from_env(dict(os.environ))
    if settings.environment == "production":
        print("erp token issues development tokens: refused with ERP_ENV=production", file=sys.stderr)
        return 2
    try:
        user = uuid.UUID(ns.user)
    except ValueError:
        print(f"--user must be a UUID, not {ns.user!r}", file=sys.stderr)
        return 2
    roles: list[str] = ns.role
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        print(f"unknown role(s) {', '.join(unknown)}; roles: {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if not 1 <= ns.ttl <= MAX_TTL_S:
        print(f"--ttl must be between 1 and {MAX_TTL_S} seconds", file=sys.stderr)
        return 2
    issuer = os.environ.get("ERP_AUTH_ISSUER") or None
    audience = os.environ.get("ERP_AUTH_AUDIENCE") or None
    extra: dict[str, Any] = {}
    if issuer:
        extra["issuer"] = issuer
    if audience:
        extra["audience"] = audience
    print(issue_token(settings.data_dir, user, roles, ttl_s=ns.ttl, **extra))
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("token", help="a development bearer token for the gateway (signed by the local dev key)")
    parser.add_argument("--role", action="append", required=True, choices=sorted(ROLES), help="repeatable")
    parser.add_argument("--user", required=True, help="the user id (a UUID), the token's subject")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    parser.set_defaults(func=cmd_token)
