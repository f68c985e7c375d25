"""Who is calling, signed: the caller identity a service trusts when security is enabled.

The gateway (for a user it authenticated) and every service (for itself, when it calls another
service) put a signed identity in the gRPC metadata `x-erp-identity`:

    v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>

The claims are compact: `k` key id, `t` kind (`u` user, `s` service), `u` user id, `s` service
name, `o` the user a service acts for (`on_behalf_of`), `r` roles/scopes, `iat`/`exp` (epoch
seconds). A token lives at most `MAX_TTL_S` (5 minutes; `ERP_IDENTITY_TTL_S`, default 60 s) and
is signed afresh for every call, so nothing long-lived travels.

With `ERP_SECURITY=enabled` (the default when `ERP_ENV=production`) a service's interceptor
(`grpc_server.py`) verifies it before any handler runs and refuses a call whose identity is
missing, expired, malformed or forged with `UNAUTHENTICATED`; the call context then takes the user
id from the verified identity only (a plain `x-erp-user-id` header is ignored). Health checks and
reflection stay open.

Keys: `ERP_IDENTITY_KEY` (a shared secret of at least 32 bytes, e.g. `openssl rand -base64 32`)
signs and verifies; `ERP_IDENTITY_PREVIOUS_KEYS` (comma-separated) are still accepted, so the key
can be rotated without downtime. Without a key (development) one is created once in
`<data dir>/identity-dev.key` (mode 0600) — refused with `ERP_ENV=production`.

HMAC means every holder of the key (the gateway and every service) can sign any identity: the key
protects against callers outside the system (a client that bypasses the gateway gains nothing),
not against a compromised service.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from services.runtime.files import create_once
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

MD_IDENTITY = "x-erp-identity"
VERSION = "v1"
MAX_TTL_S = 300
DEFAULT_TTL_S = 60
CLOCK_SKEW_S = 30
MIN_KEY_BYTES = 32
MAX_TOKEN_CHARS = 8192
DEV_KEY_FILE = "identity-dev.key"
PRODUCTION = "production"
_MAC_CONTEXT = b"erp-identity/v1\n"

Kind = Literal["user", "service"]


class IdentityKeyError(RuntimeError):
    """The identity key configuration is missing or unusable (a startup error)."""


class IdentityError(Exception):
    """A presented identity is not acceptable; `reason` is safe to show (no token, no key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """A caller: a user (authenticated by the gateway) or a service (acting for itself, and
    possibly on behalf of the user whose request it is serving)."""

    kind: Kind
    user_id: uuid.UUID | None = None
    service: str | None = None
    on_behalf_of: uuid.UUID | None = None
    roles: tuple[str, ...] = ()
    expires_at: int | None = None  # epoch seconds; set by signing and by verification

    @classmethod
    def for_user(cls, user_id: uuid.UUID, roles: Sequence[str] = ()) -> Identity:
        return cls("user", user_id=user_id, roles=tuple(roles))

    @classmethod
    def for_service(cls, service: str, on_behalf_of: uuid.UUID | None = None, roles: Sequence[str] = ()) -> Identity:
        return cls("service", service=service, on_behalf_of=on_behalf_of, roles=tuple(roles))

    @property
    def acting_user(self) -> uuid.UUID | None:
        """The user audit columns name: the user, or the user a service acts for (None: the system)."""
        return self.user_id if self.kind == "user" else self.on_behalf_of

    @property
    def subject(self) -> str:
        return f"user:{self.user_id}" if self.kind == "user" else f"service:{self.service}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """A short public name of a key (names which key signed, reveals nothing of it)."""
    return hashlib.sha256(b"erp-identity-key-id\n" + key).hexdigest()[:12]


class IdentityKeys:
    """Signs with the active key; verifies with the active key or a previous one (rotation)."""

    def __init__(self, active: bytes, previous: Sequence[bytes] = (), *, ttl_s: int = DEFAULT_TTL_S) -> None:
        for key in (active, *previous):
            if len(key) < MIN_KEY_BYTES:
                raise IdentityKeyError(f"identity keys must be at least {MIN_KEY_BYTES} bytes")
        if not 1 <= ttl_s <= MAX_TTL_S:
            raise IdentityKeyError(f"ERP_IDENTITY_TTL_S must be between 1 and {MAX_TTL_S}")
        self._active = active
        self._active_id = key_id(active)
        self._keys = {key_id(k): k for k in (active, *previous)}
        self.ttl_s = ttl_s

    def __repr__(self) -> str:  # never the key material
        return f"IdentityKeys(active={self._active_id!r}, accepted={len(self._keys)})"

    def sign(self, identity: Identity, *, ttl_s: int | None = None, now: float | None = None) -> str:
        """A token for `identity`, valid for `ttl_s` (≤ 5 minutes) from `now`."""
        ttl = self.ttl_s if ttl_s is None else ttl_s
        if not 1 <= ttl <= MAX_TTL_S:
            raise ValueError(f"an identity lives between 1 and {MAX_TTL_S} seconds")
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {"k": self._active_id, "t": "u" if identity.kind == "user" else "s"}
        if identity.kind == "user":
            if identity.user_id is None:
                raise ValueError("a user identity needs a user id")
            claims["u"] = str(identity.user_id)
        else:
            if not identity.service:
                raise ValueError("a service identity needs the service's name")
            claims["s"] = identity.service
            if identity.on_behalf_of is not None:
                claims["o"] = str(identity.on_behalf_of)
        if identity.roles:
            claims["r"] = list(identity.roles)
        claims["iat"] = issued
        claims["exp"] = issued + ttl
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{VERSION}.{body}.{_b64(self._mac(self._active, body))}"

    def verify(self, token: str | bytes | None, *, now: float | None = None) -> Identity:
        """The identity a token carries; IdentityError when missing, malformed, forged or expired."""
        if not token:
            raise IdentityError("missing caller identity")
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError:
                raise IdentityError("malformed caller identity") from None
        if len(token) > MAX_TOKEN_CHARS:
            raise IdentityError("malformed caller identity")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise IdentityError("malformed caller identity")
        _, body, mac = parts
        try:
            claims = json.loads(_unb64(body))
            presented = _unb64(mac)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise IdentityError("malformed caller identity") from None
        if not isinstance(claims, dict):
            raise IdentityError("malformed caller identity")
        key = self._keys.get(str(claims.get("k")))
        if key is None:
            raise IdentityError("caller identity signed with an unknown key")
        if not hmac.compare_digest(presented, self._mac(key, body)):
            raise IdentityError("caller identity signature does not verify")
        identity = _identity_of(claims)
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int) or not isinstance(expires, int):
            raise IdentityError("malformed caller identity")
        at = time.time() if now is None else now
        if expires - issued > MAX_TTL_S or expires < issued:
            raise IdentityError("caller identity lives longer than allowed")
        if issued > at + CLOCK_SKEW_S:
            raise IdentityError("caller identity issued in the future")
        if expires + CLOCK_SKEW_S < at:
            raise IdentityError("caller identity expired")
        return replace(identity, expires_at=expires)

    @staticmethod
    def _mac(key: bytes, body: str) -> bytes:
        return hmac.new(key, _MAC_CONTEXT + body.encode("ascii"), hashlib.sha256).digest()


def _uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID | None:
    raw = claims.get(name)
    if raw is None:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise IdentityError("malformed caller identity") from None


def _identity_of(claims: dict[str, Any]) -> Identity:
    roles = claims.get("r", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise IdentityError("malformed caller identity")
    kind = claims.get("t")
    if kind == "u":
        user = _uuid_claim(claims, "u")
        if user is None:
            raise IdentityError("malformed caller identity")
        return Identity("user", user_id=user, roles=tuple(roles))
    if kind == "s":
        service = claims.get("s")
        if not isinstance(service, str) or not service:
            raise IdentityError("malformed caller identity")
        return Identity("service", service=service, on_behalf_of=_uuid_claim(claims, "o"), roles=tuple(roles))
    raise IdentityError("malformed caller identity")


def sign_identity(keys: IdentityKeys, identity: Identity, *, ttl_s: int | None = None, now: float | None = None) -> str:
    """The `x-erp-identity` value for `identity` (the gateway calls this for the users it authenticated)."""
    return keys.sign(identity, ttl_s=ttl_s, now=now)


def verify_identity(keys: IdentityKeys, token: str | bytes | None, *, now: float | None = None) -> Identity:
    return keys.verify(token, now=now)


# ---- configuration -------------------------------------------------------------------------------


def _decode_key(raw: str, name: str) -> bytes:
    """A configured key: base64 of ≥ 32 bytes when it decodes as such, else the text's bytes."""
    text = raw.strip()
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b64decode(text, validate=True)
        if len(decoded) >= MIN_KEY_BYTES:
            return decoded
    key = text.encode()
    if len(key) < MIN_KEY_BYTES:
        raise IdentityKeyError(f"{name} must be at least {MIN_KEY_BYTES} bytes (e.g. `openssl rand -base64 32`)")
    return key


_loaded: dict[tuple[str, str, str, int], IdentityKeys] = {}


def load_identity_keys(settings: Settings) -> IdentityKeys:
    """The keys the settings describe (see the module docstring); IdentityKeyError when unusable."""
    cache_key = (
        str(settings.data_dir.resolve()),
        settings.identity_key,
        settings.identity_previous_keys,
        settings.identity_ttl_s,
    )
    if cache_key in _loaded:
        return _loaded[cache_key]
    previous = [
        _decode_key(k, "ERP_IDENTITY_PREVIOUS_KEYS") for k in settings.identity_previous_keys.split(",") if k.strip()
    ]
    if settings.identity_key:
        active = _decode_key(settings.identity_key, "ERP_IDENTITY_KEY")
    elif settings.environment == PRODUCTION:
        raise IdentityKeyError(
            "ERP_ENV=production requires ERP_IDENTITY_KEY: caller identities are never signed with the development key"
        )
    else:
        active = development_key(settings.data_dir)
        log.warning(
            "no ERP_IDENTITY_KEY configured: caller identities are signed with the DEVELOPMENT key in %s "
            "(never use it in production)",
            settings.data_dir / DEV_KEY_FILE,
        )
    keys = IdentityKeys(active, previous, ttl_s=min(settings.identity_ttl_s, MAX_TTL_S))
    _loaded[cache_key] = keys
    return keys


def development_key(data_dir: Path) -> bytes:
    """The development key of a data directory: created once (0600, atomically), then reused by
    every process of that directory (`erp up` children share it)."""
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        create_once(path, (base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n").encode())
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users: chmod 600 it", path)
    return _decode_key(path.read_text(), str(path))


# ---- the caller of the current call --------------------------------------------------------------


@dataclass(frozen=True)
class _Caller:
    identity: Identity
    signer: IdentityKeys | None


_caller: ContextVar[_Caller | None] = ContextVar("erp_caller_identity", default=None)


def current_identity() -> Identity | None:
    """The verified identity of the call being served (services), or the authenticated caller the
    gateway bound for the request; None when security is off or nobody is bound."""
    caller = _caller.get()
    return caller.identity if caller else None


@contextlib.contextmanager
def acting_as(identity: Identity, signer: IdentityKeys | None = None) -> Iterator[Identity]:
    """Bind the caller for a block. The gateway binds the user it authenticated together with its
    keys (`signer`), so that every RPC of the request forwards a signed identity
    (`forwarded_metadata`); services bind the identity they verified (no signer)."""
    token = _caller.set(_Caller(identity, signer))
    try:
        yield identity
    finally:
        _caller.reset(token)


def forwarded_metadata() -> list[tuple[str, str]]:
    """Metadata forwarding the bound caller, freshly signed (empty when no caller with a signer is
    bound). The gateway's call policy adds it to every outgoing RPC."""
    caller = _caller.get()
    if caller is None or caller.signer is None:
        return []
    return [(MD_IDENTITY, caller.signer.sign(caller.identity))]


def service_metadata(service: str, keys: IdentityKeys, on_behalf_of: uuid.UUID | None) -> list[tuple[str, str]]:
    """Metadata of a call a service makes: its own identity (`service:<name>`), acting for the
    user whose request or event it is handling, with that user's verified roles."""
    caller = current_identity()
    roles = caller.roles if caller is not None and caller.acting_user == on_behalf_of else ()
    return [(MD_IDENTITY, keys.sign(Identity.for_service(service, on_behalf_of, roles)))]
