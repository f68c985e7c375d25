"""`erp certs [--dir D]`: a local CA and a mutual-TLS certificate per service, the gateway and
`admin` (operator tools: `erp up`'s and `erp status`'s health checks), for development.

Files (keys readable by their owner only), in the layout `services/runtime/tls.py` reads with
ERP_TLS_DIR=D: `ca.pem`, `ca-key.pem`, `<principal>.pem`, `<principal>-key.pem`. Certificates
carry both server and client authentication and the names a principal is reached by: localhost,
127.0.0.1, ::1, its name, its compose host name (`supply-chain`) and `--host` extras. An existing
CA is reused (certificates issued before stay valid) unless `--force`; existing certificates are
kept unless `--force`. Production certificates come from your own PKI, in the same layout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.runtime.settings import SERVICES, Settings
from services.runtime.tls import CA_FILE, cert_path, key_path

PRINCIPALS: tuple[str, ...] = (*SERVICES, "gateway", "admin")
CA_KEY_FILE = "ca-key.pem"
CA_DAYS = 3650
CERT_DAYS = 825


def _write(path: Path, data: bytes, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(0o600 if private else 0o644)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ca(directory: Path, force: bool) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    cert_file, key_file = directory / CA_FILE, directory / CA_KEY_FILE
    if cert_file.exists() and key_file.exists() and not force:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise RuntimeError(f"{key_file} is not an EC key written by `erp certs`")
        return x509.load_pem_x509_certificate(cert_file.read_bytes()), key, False
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ERP development CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_file, _key_pem(key), private=True)
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key, True


def host_names(principal: str, extra: Sequence[str] = ()) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1", principal, principal.replace("_", "-"), f"erp-{principal}", *extra]
    return list(dict.fromkeys(names))


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def issue(
    directory: Path,
    principal: str,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: Sequence[str] = (),
    days: int = CERT_DAYS,
) -> Path:
    """A certificate (server and client authentication) and key for `principal`, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ERP back office"),
                    x509.NameAttribute(NameOID.COMMON_NAME, principal),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(_san(host_names(principal, hosts)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(key_path(directory, principal), _key_pem(key), private=True)
    path = cert_path(directory, principal)
    _write(path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return path


def generate(
    directory: Path,
    principals: Sequence[str] = PRINCIPALS,
    *,
    hosts: Sequence[str] = (),
    force: bool = False,
) -> list[Path]:
    """The CA (created or reused) and a certificate per principal; returns the files written."""
    ca_cert, ca_key, new_ca = _ca(directory, force)
    written = [directory / CA_FILE] if new_ca else []
    for principal in principals:
        have = cert_path(directory, principal).exists() and key_path(directory, principal).exists()
        if have and not force and not new_ca:
            continue
        written.append(issue(directory, principal, ca_cert, ca_key, hosts))
    return written


def cmd_certs(ns: argparse.Namespace) -> int:
    settings = Settings.from_env()
    directory = Path(ns.dir) if ns.dir else settings.tls_dir or settings.data_dir / "tls"
    written = generate(directory, hosts=ns.host or (), force=ns.force)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"nothing to do: {directory} holds the CA and every certificate (--force to re-issue)")
    print(f"use them with ERP_TLS_DIR={directory}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("certs", help="a development CA and mutual-TLS certificates (for ERP_TLS_DIR)")
    p.add_argument("--dir", help="where to write them (default ERP_TLS_DIR, else <data dir>/tls)")
    p.add_argument("--host", action="append", help="another host name or IP for every certificate (repeatable)")
    p.add_argument("--force", action="store_true", help="new CA and certificates even when they exist")
    p.set_defaults(func=cmd_certs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="erp")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args()
    sys.exit(args.func(args))
