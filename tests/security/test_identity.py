"""The signed caller identity (services/runtime/identity.py) without servers: signing, every way a
token is refused, key rotation, key configuration, and the metadata the gateway and services send."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import grpc
import pytest

from gateway.call_policy import outgoing_metadata
from services.runtime import context, identity
from services.runtime.grpc_client import caller_metadata
from services.runtime.identity import Identity, IdentityError, IdentityKeyError, IdentityKeys, load_identity_keys
from services.runtime.settings import Settings

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
USER = uuid.uuid4()


def keys(key: bytes = KEY, ttl_s: int = 60) -> IdentityKeys:
    return IdentityKeys(key, ttl_s=ttl_s)


def reason(token: str | None, verifier: IdentityKeys | None = None, now: float | None = None) -> str:
    with pytest.raises(IdentityError) as info:
        (verifier or keys()).verify(token, now=now)
    return info.value.reason


def reseal(token: str, key: bytes, **changes: object) -> str:
    """The token with changed claims, signed again with `key` (what only a key holder can do)."""
    _, body, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    new_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    mac = IdentityKeys._mac(key, new_body)
    return f"v1.{new_body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_user_and_service_identities_round_trip() -> None:
    k = keys()
    user = k.verify(k.sign(Identity.for_user(USER, ["hr", "payroll"])))
    assert (user.kind, user.user_id, user.roles, user.acting_user) == ("user", USER, ("hr", "payroll"), USER)
    assert user.expires_at is not None and 0 < user.expires_at - time.time() <= 60
    service = k.verify(k.sign(Identity.for_service("payroll", on_behalf_of=USER)))
    assert (service.kind, service.service, service.on_behalf_of, service.acting_user) == (
        "service",
        "payroll",
        USER,
        USER,
    )
    assert service.subject == "service:payroll"
    system = k.verify(k.sign(Identity.for_service("finance")))
    assert system.acting_user is None


def test_a_token_is_compact_and_carries_no_key() -> None:
    token = keys().sign(Identity.for_user(USER, ["admin"]))
    assert len(token) < 300
    assert token.isascii() and "\n" not in token
    assert base64.b64encode(KEY).decode() not in token


def test_missing_and_malformed_tokens_are_refused() -> None:
    assert reason(None) == "missing caller identity"
    assert reason("") == "missing caller identity"
    for garbage in ["abc", "v1.x.y", "v2.e30.AAAA", "v1.e30", "v1.!!!.???", "x" * 10000]:
        assert "malformed" in reason(garbage)
    valid = keys().sign(Identity.for_user(USER))
    assert "malformed" in reason(reseal(valid, KEY, t="x"))
    assert "malformed" in reason(reseal(valid, KEY, u="not-a-uuid"))
    assert "malformed" in reason(reseal(valid, KEY, r="admin"))


def test_forged_tokens_are_refused() -> None:
    k = keys()
    token = k.sign(Identity.for_user(USER))
    # Signed with a key the services do not have.
    assert reason(keys(OTHER_KEY).sign(Identity.for_user(USER))) == "caller identity signed with an unknown key"
    # Claims changed (another user, more roles) without the key: the signature no longer matches.
    _, body, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["u"], claims["r"] = str(uuid.uuid4()), ["admin"]
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert reason(f"v1.{forged_body}.{mac}") == "caller identity signature does not verify"
    # A signature made with another key under the right key id.
    assert reason(reseal(token, OTHER_KEY)) == "caller identity signature does not verify"
    assert (
        reason(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) == "caller identity signature does not verify"
    )


def test_expiry_and_lifetime_are_enforced() -> None:
    k = keys()
    now = time.time()
    old = k.sign(Identity.for_user(USER), now=now - 400)
    assert reason(old) == "caller identity expired"
    assert k.verify(k.sign(Identity.for_user(USER), ttl_s=1, now=now - 20)).user_id == USER  # within the skew
    future = k.sign(Identity.for_user(USER), now=now + 120)
    assert reason(future) == "caller identity issued in the future"
    token = k.sign(Identity.for_user(USER))
    iat = int(now)
    assert reason(reseal(token, KEY, iat=iat, exp=iat + 3600)) == "caller identity lives longer than allowed"
    with pytest.raises(ValueError):
        k.sign(Identity.for_user(USER), ttl_s=301)
    with pytest.raises(IdentityKeyError):
        keys(ttl_s=600)


def test_rotation_accepts_the_previous_key() -> None:
    old, new = keys(KEY), IdentityKeys(OTHER_KEY, [KEY])
    assert new.verify(old.sign(Identity.for_user(USER))).user_id == USER
    assert new.verify(new.sign(Identity.for_user(USER))).user_id == USER
    assert reason(new.sign(Identity.for_user(USER)), verifier=old) == "caller identity signed with an unknown key"


def test_keys_never_print() -> None:
    assert "kkkk" not in repr(keys()) and "kkkk" not in repr(Settings(identity_key="k" * 40))


def test_development_key_is_created_once_and_refused_in_production(tmp_path: Path) -> None:
    dev = Settings(data_dir=tmp_path / "a")
    first = load_identity_keys(dev)
    key_file = tmp_path / "a" / identity.DEV_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = load_identity_keys(Settings(data_dir=tmp_path / "a", identity_ttl_s=30))  # another process, same file
    assert again.verify(first.sign(Identity.for_user(USER))).user_id == USER
    other_dir = load_identity_keys(Settings(data_dir=tmp_path / "b"))
    assert (
        reason(first.sign(Identity.for_user(USER)), verifier=other_dir) == "caller identity signed with an unknown key"
    )
    with pytest.raises(IdentityKeyError, match="ERP_IDENTITY_KEY"):
        load_identity_keys(Settings(data_dir=tmp_path / "c", environment="production"))
    assert not (tmp_path / "c" / identity.DEV_KEY_FILE).exists()
    configured = base64.b64encode(b"p" * 32).decode()
    prod = load_identity_keys(Settings(data_dir=tmp_path / "c", environment="production", identity_key=configured))
    assert prod.verify(IdentityKeys(b"p" * 32).sign(Identity.for_user(USER))).user_id == USER
    with pytest.raises(IdentityKeyError, match="at least 32 bytes"):
        load_identity_keys(Settings(data_dir=tmp_path / "c", identity_key="short"))


def test_security_settings() -> None:
    assert Settings.from_env({}).security is False
    assert Settings.from_env({"ERP_ENV": "production"}).security is True
    assert Settings.from_env({"ERP_SECURITY": "enabled"}).security is True
    assert Settings.from_env({"ERP_ENV": "production", "ERP_SECURITY": "disabled"}).security is False
    with pytest.raises(ValueError, match="ERP_SECURITY"):
        Settings.from_env({"ERP_SECURITY": "maybe"})
    s = Settings.from_env(
        {
            "ERP_IDENTITY_KEY": "x" * 40,
            "ERP_IDENTITY_TTL_S": "120",
            "ERP_TLS_DIR": "/etc/erp/tls",
            "ERP_PAYROLL_NATS_PASSWORD": "pw-payroll",
            "ERP_NATS_USER": "shared",
            "ERP_NATS_PASSWORD": "pw-shared",
        }
    )
    assert (s.identity_key, s.identity_ttl_s, s.tls_dir) == ("x" * 40, 120, Path("/etc/erp/tls"))
    assert s.nats_credentials("payroll") == ("payroll", "pw-payroll")
    assert s.nats_credentials("employee") == ("shared", "pw-shared")
    assert Settings.from_env({}).nats_credentials("employee") is None
    assert "pw-" not in repr(s)


def test_gateway_forwards_the_bound_caller_signed() -> None:
    k = keys()
    assert identity.forwarded_metadata() == []
    with identity.acting_as(Identity.for_user(USER, ["hr"])):  # bound without a signer: nothing to forward
        assert identity.forwarded_metadata() == []
    with identity.acting_as(Identity.for_user(USER, ["hr"]), k), context.bound(context.CallContext(user_id=USER)):
        metadata = dict(outgoing_metadata(None))
    forwarded = k.verify(metadata[identity.MD_IDENTITY])
    assert (forwarded.user_id, forwarded.roles) == (USER, ("hr",))
    assert metadata["x-erp-user-id"] == str(USER)


def test_service_calls_carry_the_service_identity_on_behalf_of_the_user() -> None:
    k = keys()
    correlation = uuid.uuid4()
    with context.bound(context.CallContext(user_id=USER, correlation_id=correlation)):
        metadata = dict(caller_metadata(grpc.aio.Metadata(("x-extra", "1")), "payroll", k))
    caller = k.verify(metadata[identity.MD_IDENTITY])
    assert (caller.kind, caller.service, caller.on_behalf_of) == ("service", "payroll", USER)
    assert metadata["x-erp-correlation-id"] == str(correlation)
    assert metadata["x-extra"] == "1"
    # Within a verified user's call, the user's roles travel with the service identity.
    with identity.acting_as(Identity.for_user(USER, ["payroll"])), context.bound(context.CallContext(user_id=USER)):
        caller = k.verify(dict(caller_metadata(None, "payroll", k))[identity.MD_IDENTITY])
    assert caller.roles == ("payroll",)
    # Security off: the context is forwarded, no identity.
    with context.bound(context.CallContext(user_id=USER)):
        plain = dict(caller_metadata(None, "payroll", None))
    assert identity.MD_IDENTITY not in plain and plain["x-erp-user-id"] == str(USER)
