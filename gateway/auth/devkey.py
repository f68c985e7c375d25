"""The local development signing key of a data directory (`erp token`, `make up`, tests).

`<data dir>/auth-dev-key.pem` holds an ES256 private key (mode 0600), created once;
`<data dir>/auth-dev-jwks.json` its public JWKS, which the gateway uses when no JWKS is configured.
Its key id starts with `erp-dev-`: a gateway with ERP_ENV=production never accepts such a key.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.runtime.files import create_once

DEV_KEY_FILE = "auth-dev-key.pem"
DEV_JWKS_FILE = "auth-dev-jwks.json"
DEV_KID_PREFIX = "erp-dev-"
DEV_ISSUER = "erp-dev"
DEV_AUDIENCE = "erp-gateway"
ALGORITHM = "ES256"


def _kid(key: ec.EllipticCurvePrivateKey) -> str:
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return DEV_KID_PREFIX + uuid.uuid5(uuid.NAMESPACE_OID, public.hex()).hex[:16]


def development_key(data_dir: Path) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """The data directory's development key and its key id, created (with its JWKS) when missing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        fresh = ec.generate_private_key(ec.SECP256R1())
        pem = fresh.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        create_once(path, pem, 0o600)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    kid = _kid(loaded)
    jwks_path = data_dir / DEV_JWKS_FILE
    jwks = development_jwks(loaded, kid)
    if not jwks_path.exists() or json.loads(jwks_path.read_text() or "{}") != jwks:
        jwks_path.unlink(missing_ok=True)
        create_once(jwks_path, json.dumps(jwks, indent=2).encode(), 0o644)
    return loaded, kid


def development_jwks(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return {"keys": [jwk]}


def development_jwks_path(data_dir: Path) -> Path:
    """The public JWKS of the development key (created with the key when missing)."""
    development_key(data_dir)
    return data_dir / DEV_JWKS_FILE


def issue_token(
    data_dir: Path,
    user_id: uuid.UUID,
    roles: Sequence[str],
    *,
    ttl_s: int = 3600,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
    now: float | None = None,
) -> str:
    """A bearer token for `user_id` with `roles`, signed by the development key."""
    key, kid = development_key(data_dir)
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": str(user_id),
        "roles": list(roles),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
