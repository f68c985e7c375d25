"""Bearer tokens: OIDC/JWT signed RS256 or ES256, verified against a JWKS (file or URL).

| variable | default | meaning |
|---|---|---|
| ERP_AUTH | `required` when ERP_ENV=production, else `disabled` | `required`: every operation needs a valid token |
| ERP_AUTH_JWKS_FILE | (unset) | a JWKS file with the issuer's public keys |
| ERP_AUTH_JWKS_URL | (unset) | the JWKS URL (cached ERP_AUTH_JWKS_CACHE_S, 300 s; refetched on unknown `kid`) |
| ERP_AUTH_ISSUER | `erp-dev` (required in production) | the `iss` every token must carry |
| ERP_AUTH_AUDIENCE | `erp-gateway` (required in production) | an `aud` every token must carry |
| ERP_AUTH_LEEWAY_S | 30 | clock skew tolerated on `exp`/`nbf`/`iat` (at most 300) |

Without a JWKS the gateway uses the development key of the data directory (`devkey.py`, what
`erp token` signs with) — never with ERP_ENV=production, where a configured JWKS holding a
development key (`kid` `erp-dev-…`) or the development JWKS file refuses startup, and development
keys are ignored whatever the source. A token's `sub` is the user id (a UUID), `roles` its roles.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from jwt import PyJWK, PyJWKClient

from gateway.auth.devkey import DEV_AUDIENCE, DEV_ISSUER, DEV_JWKS_FILE, DEV_KID_PREFIX, development_jwks_path
from gateway.auth.roles import scopes_of

ALGORITHMS = ("RS256", "ES256")
MAX_LEEWAY_S = 300
MAX_TOKEN_CHARS = 16_384
PRODUCTION = "production"
Mode = Literal["required", "disabled"]


class AuthConfigError(RuntimeError):
    """The authentication settings are unusable: the gateway does not start."""


class AuthError(Exception):
    """A presented token is not acceptable; the reason is safe to show (no token material)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthConfig:
    mode: Mode = "disabled"
    jwks_file: Path | None = None
    jwks_url: str | None = None
    issuer: str = DEV_ISSUER
    audience: str = DEV_AUDIENCE
    leeway_s: int = 30
    jwks_cache_s: int = 300
    environment: str = "development"
    data_dir: Path = Path(".erp")

    @property
    def required(self) -> bool:
        return self.mode == "required"

    @property
    def production(self) -> bool:
        return self.environment == PRODUCTION

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AuthConfig:
        env = dict(os.environ if environ is None else environ)
        environment = env.get("ERP_ENV") or "development"
        raw = (env.get("ERP_AUTH") or ("required" if environment == PRODUCTION else "disabled")).strip().lower()
        if raw not in ("required", "disabled"):
            raise AuthConfigError(f"ERP_AUTH must be required or disabled, not {raw!r}")
        mode: Mode = "required" if raw == "required" else "disabled"
        issuer, audience = env.get("ERP_AUTH_ISSUER") or "", env.get("ERP_AUTH_AUDIENCE") or ""
        if environment == PRODUCTION and mode == "required" and not (issuer and audience):
            raise AuthConfigError("ERP_ENV=production requires ERP_AUTH_ISSUER and ERP_AUTH_AUDIENCE")
        return cls(
            mode=mode,
            jwks_file=Path(env["ERP_AUTH_JWKS_FILE"]) if env.get("ERP_AUTH_JWKS_FILE") else None,
            jwks_url=env.get("ERP_AUTH_JWKS_URL") or None,
            issuer=issuer or DEV_ISSUER,
            audience=audience or DEV_AUDIENCE,
            leeway_s=int(env.get("ERP_AUTH_LEEWAY_S") or 30),
            jwks_cache_s=int(env.get("ERP_AUTH_JWKS_CACHE_S") or 300),
            environment=environment,
            data_dir=Path(env.get("ERP_DATA_DIR", ".erp")),
        )


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user_id: uuid.UUID
    roles: tuple[str, ...]
    scopes: frozenset[str]
    expires_at: int | None = None


@dataclass(frozen=True)
class AuthState:
    """What the request's context knows of its caller: `principal` when authenticated, `error`
    when a token was presented and refused; `required` whether an operation needs a principal."""

    required: bool = False
    principal: Principal | None = None
    error: str | None = None

    def allows(self, scope: str) -> bool:
        if not self.required:
            return True
        return self.principal is not None and (not scope or scope in self.principal.scopes)


def _is_dev_key(jwk: dict[str, Any]) -> bool:
    return str(jwk.get("kid", "")).startswith(DEV_KID_PREFIX)


def _load_jwks_file(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AuthConfigError(f"cannot read the JWKS file {path}: {exc}") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise AuthConfigError(f"{path} is not a JWKS (no `keys` list)")
    return [k for k in keys if isinstance(k, dict)]


class Authenticator:
    """Verifies bearer tokens against the configured keys."""

    def __init__(self, config: AuthConfig) -> None:
        if not 0 <= config.leeway_s <= MAX_LEEWAY_S:
            raise AuthConfigError(f"ERP_AUTH_LEEWAY_S must be between 0 and {MAX_LEEWAY_S}")
        self.config = config
        self._keys: dict[str | None, PyJWK] = {}
        self._client: PyJWKClient | None = None
        if not config.required:
            return
        if config.jwks_url:
            self._client = PyJWKClient(config.jwks_url, cache_jwk_set=True, lifespan=config.jwks_cache_s, timeout=5)
            if config.production and config.issuer == DEV_ISSUER:
                raise AuthConfigError("ERP_ENV=production never accepts development tokens (issuer erp-dev)")
            return
        if config.jwks_file is not None:
            path = config.jwks_file
        elif config.production:
            raise AuthConfigError("ERP_ENV=production requires ERP_AUTH_JWKS_FILE or ERP_AUTH_JWKS_URL")
        else:
            path = development_jwks_path(config.data_dir)
        jwks = _load_jwks_file(path)
        if config.production and (
            path.name == DEV_JWKS_FILE or any(_is_dev_key(k) for k in jwks) or config.issuer == DEV_ISSUER
        ):
            raise AuthConfigError(f"ERP_ENV=production never accepts the development signing key ({path} holds one)")
        for jwk in jwks:
            if jwk.get("use", "sig") != "sig":
                continue
            try:
                key = PyJWK.from_dict(jwk)
            except jwt.PyJWTError:
                continue
            if key.algorithm_name in ALGORITHMS:
                self._keys[jwk.get("kid")] = key
        if not self._keys:
            raise AuthConfigError(f"{path} holds no RS256 or ES256 signing key")

    def _key_for(self, token: str, header: dict[str, Any]) -> PyJWK:
        kid = header.get("kid")
        if self._client is not None:
            try:
                key = self._client.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientConnectionError:
                raise AuthError("the token's signing keys cannot be fetched") from None
            except jwt.PyJWTError:
                raise AuthError("the token is signed with an unknown key") from None
            if self.config.production and str(kid or "").startswith(DEV_KID_PREFIX):
                raise AuthError("the token is signed with an unknown key")
            return key
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthError("the token is signed with an unknown key")

    def verify(self, token: str, *, now: float | None = None) -> Principal:
        """The principal a token names; AuthError when it is malformed, forged, expired or not ours."""
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthError("the token's algorithm is not accepted (RS256 or ES256)")
        key = self._key_for(token, header)
        if key.algorithm_name != header.get("alg"):
            raise AuthError("the token's algorithm does not match its key")
        cfg = self.config
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=cfg.audience,
                issuer=cfg.issuer,
                leeway=cfg.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.InvalidSignatureError:
            raise AuthError("the token's signature does not verify") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise AuthError("the token was not issued for this gateway") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token is not valid yet") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        at = time.time() if now is None else now
        if int(claims["iat"]) > at + cfg.leeway_s:
            raise AuthError("the token was issued in the future")
        try:
            user = uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise AuthError("the token's subject is not a user id") from None
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthError("the token's roles are malformed")
        exp = claims.get("exp")
        return Principal(user, tuple(roles), scopes_of(roles), int(exp) if isinstance(exp, (int, float)) else None)

    async def authenticate(self, authorization: str | None) -> AuthState:
        """The state of a request with this `Authorization` header value (or a
        graphql-transport-ws `connection_init` payload's)."""
        if not self.config.required:
            return AuthState()
        if not authorization:
            return AuthState(required=True)
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthState(required=True, error="the Authorization header must be `Bearer <token>`")
        try:
            if self._client is not None:  # may fetch the JWKS: not on the event loop
                principal = await asyncio.to_thread(self.verify, token.strip())
            else:
                principal = self.verify(token.strip())
        except AuthError as exc:
            return AuthState(required=True, error=exc.reason)
        return AuthState(required=True, principal=principal)
