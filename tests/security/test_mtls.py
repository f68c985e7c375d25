"""Optional mutual TLS (ERP_TLS_DIR, certificates from `erp certs`): a service serves TLS and
accepts only clients presenting a certificate of the CA; services, the gateway and the operator's
health checks connect with their own certificates."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from erp.employee.v1 import employee_service_pb2 as emp
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc

from gateway.clients import Clients
from services.ops import certs, cli, supervisor
from services.ops.embedded import free_port
from services.runtime.grpc_client import service_channel
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import Settings
from services.runtime.tls import CA_FILE, cert_path, key_path


@dataclass
class TlsService:
    settings: Settings  # with tls_dir, pointing at the TLS employee service
    running: RunningService
    tls_dir: Path
    rogue_dir: Path  # another CA's certificates

    @property
    def address(self) -> str:
        return self.settings.grpc_address("employee")


@pytest.fixture(scope="module")
async def tls_service(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TlsService]:
    tls_dir = tmp_path_factory.mktemp("tls")
    rogue = tmp_path_factory.mktemp("rogue-tls")
    certs.generate(tls_dir)
    certs.generate(rogue, ["gateway"])
    port = free_port()
    own = replace(settings, tls_dir=tls_dir, grpc_ports={**settings.grpc_ports, "employee": port})
    running = await start_service(load_definition("employee"), own, port=port)
    yield TlsService(own, running, tls_dir, rogue)
    await running.shutdown()


async def list_employees(channel: grpc.aio.Channel) -> emp.ListEmployeesResponse:
    stub = emp_grpc.EmployeeServiceStub(channel)
    return await stub.ListEmployees(emp.ListEmployeesRequest(page_size=1), timeout=5)


def credentials(directory: Path, principal: str | None, ca_dir: Path | None = None) -> grpc.ChannelCredentials:
    ca = ((ca_dir or directory) / CA_FILE).read_bytes()
    if principal is None:
        return grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=key_path(directory, principal).read_bytes(),
        certificate_chain=cert_path(directory, principal).read_bytes(),
    )


async def test_a_client_with_a_certificate_of_the_ca_is_served(tls_service: TlsService) -> None:
    async with grpc.aio.secure_channel(tls_service.address, credentials(tls_service.tls_dir, "gateway")) as channel:
        assert isinstance(await list_employees(channel), emp.ListEmployeesResponse)


@pytest.mark.parametrize("client", ["no client certificate", "another CA's certificate", "plaintext"])
async def test_other_clients_are_refused(tls_service: TlsService, client: str) -> None:
    if client == "plaintext":
        channel = grpc.aio.insecure_channel(tls_service.address)
    elif client == "no client certificate":
        channel = grpc.aio.secure_channel(tls_service.address, credentials(tls_service.tls_dir, None))
    else:  # trusts the right CA, presents a certificate the service's CA never signed
        rogue = credentials(tls_service.rogue_dir, "gateway", ca_dir=tls_service.tls_dir)
        channel = grpc.aio.secure_channel(tls_service.address, rogue)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await list_employees(channel)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_services_gateway_and_operator_tools_connect_with_their_certificates(tls_service: TlsService) -> None:
    own = tls_service.settings
    channel = service_channel(own, "employee", caller="payroll", keys=None)  # ServiceDeps.channel's channel
    try:
        assert isinstance(await list_employees(channel), emp.ListEmployeesResponse)
    finally:
        await channel.close()
    clients = Clients(own)
    try:
        reply = await clients.employee.call(lambda s: s.ListEmployees(emp.ListEmployeesRequest(page_size=1)))
        assert isinstance(reply, emp.ListEmployeesResponse)
    finally:
        await clients.close()
    assert await supervisor.grpc_healthy(tls_service.address, own.tls_dir)
    assert not await supervisor.grpc_healthy(tls_service.address)


def test_erp_certs_writes_a_ca_and_a_certificate_per_principal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "tls"
    ns = cli.build_parser().parse_args(["certs", "--dir", str(directory), "--host", "erp.internal"])
    assert ns.func(ns) == 0
    assert f"ERP_TLS_DIR={directory}" in capsys.readouterr().out
    ca = x509.load_pem_x509_certificate((directory / CA_FILE).read_bytes())
    assert (directory / certs.CA_KEY_FILE).stat().st_mode & 0o777 == 0o600
    for principal in certs.PRINCIPALS:
        cert = x509.load_pem_x509_certificate(cert_path(directory, principal).read_bytes())
        assert cert.issuer == ca.subject
        assert os.stat(key_path(directory, principal)).st_mode & 0o777 == 0o600
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = set(san.get_values_for_type(x509.DNSName)) | {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
        assert {"localhost", "127.0.0.1", principal.replace("_", "-"), "erp.internal"} <= names
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert {u.dotted_string for u in usage} == {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}  # server + client
    before = (directory / CA_FILE).read_bytes()
    assert ns.func(ns) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert (directory / CA_FILE).read_bytes() == before
