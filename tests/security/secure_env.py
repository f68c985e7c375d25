"""Services started with security enabled, on databases of their own (`erptest_sec_*`).

Used by the identity and NATS permission tests: each module starts the services it needs with
`start_secure` and stops them when done, so no other test's service shares their relay leases or
their consumers.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import grpc

from services.ops.embedded import free_port
from services.runtime.identity import Identity, IdentityKeys, load_identity_keys
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url

DB_PREFIX = "erptest_sec_"
MD_IDENTITY = "x-erp-identity"


def secure_settings(base: Settings, **overrides: Any) -> Settings:
    """`base` with security on, an explicit identity key, databases and subjects of its own."""
    return replace(
        base,
        database_prefix=DB_PREFIX,
        subject_root=base.subject_root + "sec",
        grpc_ports={s: free_port() for s in SERVICES},
        security=True,
        identity_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        **overrides,
    )


async def migrate(settings: Settings, services: Sequence[str]) -> None:
    await ensure_databases(settings, list(services))
    for service in services:
        await asyncio.to_thread(upgrade, settings, service)


@dataclass
class SecureSystem:
    settings: Settings
    services: dict[str, RunningService] = field(default_factory=dict)
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    @property
    def keys(self) -> IdentityKeys:
        return load_identity_keys(self.settings)

    async def start(self, names: Sequence[str]) -> None:
        for name in names:
            self.services[name] = await start_service(load_definition(name), self.settings)
            self.channels[name] = grpc.aio.insecure_channel(self.settings.grpc_address(name))

    async def stop(self) -> None:
        for channel in self.channels.values():
            await channel.close()
        for running in self.services.values():
            await running.shutdown()

    def as_user(
        self, user: uuid.UUID, *extra: tuple[str, str], roles: Sequence[str] = ()
    ) -> tuple[tuple[str, str], ...]:
        """Metadata of a call by `user`, as the gateway signs it (plus `extra` entries)."""
        return ((MD_IDENTITY, self.keys.sign(Identity.for_user(user, roles))), *extra)

    async def sql(self, service: str, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(to_libpq_url(self.settings.service_database_url(service)))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()
