"""Optional mutual TLS for gRPC (`ERP_TLS_DIR`): the files `erp certs` writes.

`<dir>/ca.pem` is the CA every party trusts; `<dir>/<principal>.pem` and `<principal>-key.pem`
are the certificate and key of a principal (a service, `gateway`, or `admin` for operator tools).
A service serves with its certificate and requires a client certificate signed by the CA; a
client presents its own. Without ERP_TLS_DIR everything stays plaintext (development, tests).
"""

from __future__ import annotations

from pathlib import Path

import grpc

CA_FILE = "ca.pem"


def cert_path(tls_dir: Path, principal: str) -> Path:
    return tls_dir / f"{principal}.pem"


def key_path(tls_dir: Path, principal: str) -> Path:
    return tls_dir / f"{principal}-key.pem"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RuntimeError(f"ERP_TLS_DIR: {path} is missing (generate the files with `erp certs`)") from None


def server_credentials(tls_dir: Path, principal: str) -> grpc.ServerCredentials:
    """The server side of mutual TLS: this principal's certificate, clients must present one."""
    return grpc.ssl_server_credentials(
        [(_read(key_path(tls_dir, principal)), _read(cert_path(tls_dir, principal)))],
        root_certificates=_read(tls_dir / CA_FILE),
        require_client_auth=True,
    )


def channel_credentials(tls_dir: Path, principal: str) -> grpc.ChannelCredentials:
    """The client side: trust the CA, present this principal's certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls_dir / CA_FILE),
        private_key=_read(key_path(tls_dir, principal)),
        certificate_chain=_read(cert_path(tls_dir, principal)),
    )
