"""The servers a benchmark run uses: embedded PostgreSQL and NATS in a temporary directory,
or the ones ERP_DATABASE_URL / ERP_NATS_URL name. Databases are prefixed `bench_` (dropped at
start and end), subjects use a random root, so nothing else on a shared server is touched."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import nats

from services.ops.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from services.ops.scratch import drop_databases
from services.runtime.settings import SERVICES, Settings, to_libpq_url, with_database

PREFIX = "bench_"


@dataclass
class Infra:
    server_url: str
    nats_url: str
    tmp: Path
    embedded: bool
    durable: bool
    versions: dict[str, str]

    def settings(self, root: str | None = None) -> Settings:
        """Settings of a bench system: own databases, subject root, free ports, quiet logs."""
        return replace(
            Settings.from_env({}),
            data_dir=self.tmp / "data",
            database_url=self.server_url,
            database_prefix=PREFIX,
            nats_url=self.nats_url,
            subject_root=root or f"bench{secrets.token_hex(3)}",
            grpc_ports={s: free_port() for s in SERVICES},
            gateway_port=free_port(),
            log_level="WARNING",
        )

    def database_url(self, name: str) -> str:
        return with_database(to_libpq_url(self.server_url), PREFIX + name)


def child_env(settings: Settings) -> dict[str, str]:
    """The ERP_* environment that makes a child process use `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
    env.update(
        {
            "ERP_DATABASE_URL": settings.database_url or "",
            "ERP_DATABASE_PREFIX": settings.database_prefix,
            "ERP_NATS_URL": settings.nats_url or "",
            "ERP_SUBJECT_ROOT": settings.subject_root,
            "ERP_GATEWAY_PORT": str(settings.gateway_port),
            "ERP_LOG_LEVEL": settings.log_level,
            "ERP_DATA_DIR": str(settings.data_dir),
        }
    )
    for service, port in settings.grpc_ports.items():
        env[f"ERP_{service.upper()}_GRPC_PORT"] = str(port)
    return env


async def server_versions(server_url: str, nats_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(with_database(to_libpq_url(server_url), "postgres"))
    try:
        pg = str(await conn.fetchval("SHOW server_version"))
        fsync = str(await conn.fetchval("SHOW fsync"))
        sync_commit = str(await conn.fetchval("SHOW synchronous_commit"))
    finally:
        await conn.close()
    nc = await nats.connect(nats_url)
    try:
        nats_version = str(nc._server_info.get("version", "?"))
    finally:
        await nc.close()
    return {"postgres": pg, "postgres_fsync": fsync, "postgres_synchronous_commit": sync_commit, "nats": nats_version}


@contextlib.contextmanager
def infrastructure(*, durable: bool = True) -> Iterator[Infra]:
    """Servers for one benchmark run; embedded ones are stopped and deleted afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="erp-bench-"))
    pg = nats_server = None
    db_url, nats_url = os.environ.get("ERP_DATABASE_URL"), os.environ.get("ERP_NATS_URL")
    try:
        if not db_url:
            pg = EmbeddedPostgres(tmp / "pg", free_port(), durable=durable)
            db_url = pg.start()
        if not nats_url:
            nats_server = EmbeddedNats(tmp / "nats", free_port())
            nats_url = nats_server.start()
        asyncio.run(drop_databases(db_url, PREFIX))
        versions = asyncio.run(server_versions(db_url, nats_url))
        yield Infra(db_url, nats_url, tmp, pg is not None, durable, versions)
    finally:
        if db_url and pg is None:  # a shared server: leave no bench_ database behind
            with contextlib.suppress(Exception):
                asyncio.run(drop_databases(db_url, PREFIX))
        if nats_server:
            nats_server.stop()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
