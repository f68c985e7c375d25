"""Settings from `ERP_*` environment variables, read once at bootstrap (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICES: tuple[str, ...] = (
    "employee",
    "payroll",
    "accounting",
    "billing",
    "procurement",
    "inventory",
    "supply_chain",
    "finance",
)

# Who connects to NATS with credentials of their own (ERP_<PRINCIPAL>_NATS_PASSWORD, user = the name).
NATS_PRINCIPALS: tuple[str, ...] = (*SERVICES, "gateway", "admin")
SECURITY_ON = ("enabled", "true", "on", "1")
SECURITY_OFF = ("disabled", "false", "off", "0")

DEFAULT_GRPC_PORTS: dict[str, int] = {name: 50051 + i for i, name in enumerate(SERVICES)}
DEFAULT_METRICS_PORTS: dict[str, int] = {name: 9100 + i for i, name in enumerate(SERVICES)}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _int(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    return int(raw) if raw not in (None, "") else default


def _security(env: dict[str, str]) -> bool:
    """ERP_SECURITY=enabled|disabled; unset: enabled exactly when ERP_ENV=production."""
    raw = env.get("ERP_SECURITY", "").strip().lower()
    if not raw:
        return (env.get("ERP_ENV") or "development") == "production"
    if raw in SECURITY_ON:
        return True
    if raw in SECURITY_OFF:
        return False
    raise ValueError("ERP_SECURITY must be enabled or disabled")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the spec's defaults (pool of 20, 5 s statement timeout)."""

    data_dir: Path = Path(".erp")
    database_url: str | None = None
    service_database_urls: dict[str, str] = field(default_factory=dict)
    database_prefix: str = ""
    nats_url: str | None = None
    subject_root: str = "erp"
    grpc_host: str = "127.0.0.1"
    grpc_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_GRPC_PORTS))
    grpc_bind_host: str | None = None  # where a service listens; grpc_host when unset
    grpc_addresses: dict[str, str] = field(default_factory=dict)  # host:port of another service (containers)
    metrics_host: str = "127.0.0.1"
    metrics_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_METRICS_PORTS))
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    pool_size: int = 20
    pool_timeout_s: float = 5.0
    statement_timeout_ms: int = 5000
    db_sslmode: str | None = None  # ERP_DB_SSLMODE: require / verify-ca / verify-full in production
    db_statement_cache_size: int | None = None  # 0 behind PgBouncer in transaction mode
    db_session_url: str | None = None  # direct server for the relay's LISTEN + lease (not PgBouncer)
    stream_replicas: int = 1
    max_deliveries: int = 5
    rpc_deadline_s: float = 5.0
    log_level: str = "INFO"
    environment: str = "development"  # ERP_ENV; "production" refuses development keys
    pii_keys: str = field(default="", repr=False)  # ERP_PII_KEYS: <key id>:<base64 key>,... (crypto.py)
    pii_active_key: str = ""  # ERP_PII_ACTIVE_KEY: the key id new values are encrypted with
    # Service identity (identity.py): services verify the signed caller identity when enabled.
    security: bool = False  # ERP_SECURITY=enabled|disabled (default: enabled when ERP_ENV=production)
    identity_key: str = field(default="", repr=False)  # ERP_IDENTITY_KEY: HMAC key (>= 32 bytes)
    identity_previous_keys: str = field(default="", repr=False)  # ERP_IDENTITY_PREVIOUS_KEYS: comma-separated
    identity_ttl_s: int = 60  # ERP_IDENTITY_TTL_S: lifetime of a signed identity (at most 300)
    # NATS credentials: ERP_NATS_USER/ERP_NATS_PASSWORD, or ERP_<PRINCIPAL>_NATS_PASSWORD per principal.
    nats_user: str | None = None
    nats_password: str = field(default="", repr=False)
    nats_passwords: dict[str, str] = field(default_factory=dict, repr=False)
    tls_dir: Path | None = None  # ERP_TLS_DIR: mutual TLS for gRPC (certificates from `erp certs`)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        ports = {name: _int(env, f"ERP_{name.upper()}_GRPC_PORT", port) for name, port in DEFAULT_GRPC_PORTS.items()}
        sslmode = env.get("ERP_DB_SSLMODE") or None
        if sslmode is not None and sslmode not in SSL_MODES:
            raise ValueError(f"ERP_DB_SSLMODE must be one of {', '.join(SSL_MODES)}")
        cache = env.get("ERP_DB_STATEMENT_CACHE_SIZE")
        service_urls = {
            name: env[f"ERP_{name.upper()}_DATABASE_URL"]
            for name in SERVICES
            if env.get(f"ERP_{name.upper()}_DATABASE_URL")
        }
        return cls(
            data_dir=Path(env.get("ERP_DATA_DIR", ".erp")),
            database_url=env.get("ERP_DATABASE_URL") or None,
            service_database_urls=service_urls,
            database_prefix=env.get("ERP_DATABASE_PREFIX", ""),
            nats_url=env.get("ERP_NATS_URL") or None,
            subject_root=env.get("ERP_SUBJECT_ROOT", "erp"),
            grpc_host=env.get("ERP_GRPC_HOST", "127.0.0.1"),
            grpc_ports=ports,
            grpc_bind_host=env.get("ERP_GRPC_BIND_HOST") or None,
            grpc_addresses={
                name: env[f"ERP_{name.upper()}_GRPC_ADDRESS"]
                for name in SERVICES
                if env.get(f"ERP_{name.upper()}_GRPC_ADDRESS")
            },
            metrics_host=env.get("ERP_METRICS_HOST", "127.0.0.1"),
            metrics_ports={
                name: _int(env, f"ERP_{name.upper()}_METRICS_PORT", port)
                for name, port in DEFAULT_METRICS_PORTS.items()
            },
            gateway_host=env.get("ERP_GATEWAY_HOST", "127.0.0.1"),
            gateway_port=_int(env, "ERP_GATEWAY_PORT", 8000),
            pool_size=_int(env, "ERP_DB_POOL_SIZE", 20),
            pool_timeout_s=_int(env, "ERP_DB_POOL_TIMEOUT_MS", 5000) / 1000,
            statement_timeout_ms=_int(env, "ERP_DB_STATEMENT_TIMEOUT_MS", 5000),
            db_sslmode=sslmode,
            db_statement_cache_size=int(cache) if cache not in (None, "") else None,
            db_session_url=env.get("ERP_DB_SESSION_URL") or None,
            stream_replicas=_int(env, "ERP_STREAM_REPLICAS", 1),
            max_deliveries=_int(env, "ERP_MAX_DELIVERIES", 5),
            rpc_deadline_s=_int(env, "ERP_RPC_DEADLINE_MS", 5000) / 1000,
            log_level=env.get("ERP_LOG_LEVEL", "INFO"),
            environment=env.get("ERP_ENV") or "development",
            pii_keys=env.get("ERP_PII_KEYS", ""),
            pii_active_key=env.get("ERP_PII_ACTIVE_KEY", ""),
            security=_security(env),
            identity_key=env.get("ERP_IDENTITY_KEY", ""),
            identity_previous_keys=env.get("ERP_IDENTITY_PREVIOUS_KEYS", ""),
            identity_ttl_s=_int(env, "ERP_IDENTITY_TTL_S", 60),
            nats_user=env.get("ERP_NATS_USER") or None,
            nats_password=env.get("ERP_NATS_PASSWORD", ""),
            nats_passwords={
                p: env[f"ERP_{p.upper()}_NATS_PASSWORD"]
                for p in NATS_PRINCIPALS
                if env.get(f"ERP_{p.upper()}_NATS_PASSWORD")
            },
            tls_dir=Path(env["ERP_TLS_DIR"]) if env.get("ERP_TLS_DIR") else None,
        )

    def database_name(self, service: str) -> str:
        return f"{self.database_prefix}{service}_db"

    def service_database_url(self, service: str) -> str:
        """The SQLAlchemy URL of one service's own database."""
        if service in self.service_database_urls:
            return to_asyncpg_url(self.service_database_urls[service])
        if not self.database_url:
            raise RuntimeError(
                f"no database configured for {service}: set ERP_DATABASE_URL or ERP_{service.upper()}_DATABASE_URL"
            )
        return to_asyncpg_url(with_database(self.database_url, self.database_name(service)))

    def session_database_url(self, service: str) -> str:
        """Where the outbox relay holds its lease and LISTENs: a session-pooled (direct) connection."""
        if self.db_session_url:
            return to_asyncpg_url(with_database(self.db_session_url, self.database_name(service)))
        return self.service_database_url(service)

    def pg_connect_kwargs(self) -> dict[str, object]:
        """Keyword arguments for asyncpg.connect (SSL) used by the relay and the operator tools."""
        return {"ssl": self.db_sslmode} if self.db_sslmode else {}

    def grpc_address(self, service: str) -> str:
        """Where to reach a service: ERP_<SERVICE>_GRPC_ADDRESS, else grpc_host:port."""
        return self.grpc_addresses.get(service) or f"{self.grpc_host}:{self.grpc_ports[service]}"

    def grpc_bind_address(self, service: str, port: int | None = None) -> str:
        return f"{self.grpc_bind_host or self.grpc_host}:{self.grpc_ports[service] if port is None else port}"

    def nats_credentials(self, principal: str) -> tuple[str, str] | None:
        """(user, password) of a NATS principal (a service, `gateway` or `admin`):
        ERP_<PRINCIPAL>_NATS_PASSWORD with the principal's name as user, else ERP_NATS_USER and
        ERP_NATS_PASSWORD (one process, one identity: containers), else None (no authentication)."""
        if principal in self.nats_passwords:
            return principal, self.nats_passwords[principal]
        if self.nats_user:
            return self.nats_user, self.nats_password
        return None

    def require_nats_url(self) -> str:
        if not self.nats_url:
            raise RuntimeError("no NATS server configured: set ERP_NATS_URL")
        return self.nats_url


def with_database(url: str, database: str) -> str:
    """Return `url` pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URLs must start with postgresql://")


def to_libpq_url(url: str) -> str:
    """The plain `postgresql://` form, for asyncpg.connect and the PostgreSQL tools."""
    return "postgresql://" + url.split("://", 1)[1]
