"""The gateway's own settings (`ERP_GATEWAY_*`), read once at bootstrap, each with a default.

| variable | default | meaning |
|---|---|---|
| ERP_GATEWAY_MAX_DEPTH | 15 | deepest field nesting of an operation (introspection fields not counted) |
| ERP_GATEWAY_MAX_ALIASES | 30 | aliased fields in an operation |
| ERP_GATEWAY_MAX_ROOT_FIELDS | 20 | fields selected at the operation's root |
| ERP_GATEWAY_MAX_COST | 100000 | estimated cost: every field counts once per item of the lists above it |
| ERP_GATEWAY_DEFAULT_LIST_SIZE | 20 | estimated size of a list that takes no `first` argument |
| ERP_GATEWAY_MAX_TOKENS | 15000 | lexical tokens in a document (checked while parsing) |
| ERP_GATEWAY_INTROSPECTION | true | `__schema` / `__type` allowed (turn off in production) |
| ERP_GATEWAY_APQ | true | automatic persisted queries (Apollo `persistedQuery` extension) |
| ERP_GATEWAY_APQ_CACHE_SIZE | 10000 | documents the APQ store keeps (least recently used go first) |
| ERP_GATEWAY_TRUSTED_DOCUMENTS | (unset) | JSON manifests `{sha256: document}`, comma-separated: only they run |
| ERP_GATEWAY_BREAKER_FAILURES | 5 | consecutive UNAVAILABLE/DEADLINE_EXCEEDED answers that open a service's circuit |
| ERP_GATEWAY_BREAKER_COOLDOWN_MS | 10000 | how long an open circuit skips the service before one probe call |
| ERP_GATEWAY_SUBSCRIPTION_QUEUE | 100 | events a subscriber may have waiting before it is closed as too slow |
| ERP_GATEWAY_MAX_SUBSCRIPTIONS | 100 | operations one WebSocket connection may run at once |
| ERP_GATEWAY_WORKERS | 1 | gateway processes sharing the port (uvicorn workers); see gateway/__main__.py |

Authentication (`ERP_AUTH*`: bearer tokens, roles and scopes) is described in gateway/auth/tokens.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gateway.auth.tokens import AuthConfig

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _int(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    return int(raw) if raw not in (None, "") else default


def _bool(env: dict[str, str], key: str, default: bool) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ValueError(f"{key} must be true or false, not {raw!r}")


def _workers(env: dict[str, str]) -> int:
    workers = _int(env, "ERP_GATEWAY_WORKERS", 1)
    if workers < 1:
        raise ValueError(f"ERP_GATEWAY_WORKERS must be at least 1, not {workers}")
    return workers


@dataclass(frozen=True)
class Limits:
    """What one operation may ask for; checked after parsing, before any RPC."""

    max_depth: int = 15
    max_aliases: int = 30
    max_root_fields: int = 20
    max_cost: int = 100_000
    default_list_size: int = 20
    max_tokens: int = 15_000
    introspection: bool = True


@dataclass(frozen=True)
class GatewayConfig:
    limits: Limits = Limits()
    apq: bool = True
    apq_cache_size: int = 10_000
    trusted_documents: tuple[Path, ...] = ()
    breaker_failures: int = 5
    breaker_cooldown_s: float = 10.0
    subscription_queue: int = 100
    max_subscriptions: int = 100
    auth: AuthConfig = field(default_factory=AuthConfig)
    workers: int = 1

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> GatewayConfig:
        env = dict(os.environ if environ is None else environ)
        defaults = Limits()
        trusted = [p.strip() for p in env.get("ERP_GATEWAY_TRUSTED_DOCUMENTS", "").split(",") if p.strip()]
        return cls(
            limits=Limits(
                max_depth=_int(env, "ERP_GATEWAY_MAX_DEPTH", defaults.max_depth),
                max_aliases=_int(env, "ERP_GATEWAY_MAX_ALIASES", defaults.max_aliases),
                max_root_fields=_int(env, "ERP_GATEWAY_MAX_ROOT_FIELDS", defaults.max_root_fields),
                max_cost=_int(env, "ERP_GATEWAY_MAX_COST", defaults.max_cost),
                default_list_size=_int(env, "ERP_GATEWAY_DEFAULT_LIST_SIZE", defaults.default_list_size),
                max_tokens=_int(env, "ERP_GATEWAY_MAX_TOKENS", defaults.max_tokens),
                introspection=_bool(env, "ERP_GATEWAY_INTROSPECTION", defaults.introspection),
            ),
            apq=_bool(env, "ERP_GATEWAY_APQ", True),
            apq_cache_size=_int(env, "ERP_GATEWAY_APQ_CACHE_SIZE", 10_000),
            trusted_documents=tuple(Path(p) for p in trusted),
            breaker_failures=_int(env, "ERP_GATEWAY_BREAKER_FAILURES", 5),
            breaker_cooldown_s=_int(env, "ERP_GATEWAY_BREAKER_COOLDOWN_MS", 10_000) / 1000,
            subscription_queue=_int(env, "ERP_GATEWAY_SUBSCRIPTION_QUEUE", 100),
            max_subscriptions=_int(env, "ERP_GATEWAY_MAX_SUBSCRIPTIONS", 100),
            auth=AuthConfig.from_env(env),
            workers=_workers(env),
        )
