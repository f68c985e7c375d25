"""Real PostgreSQL and NATS for the suite: embedded by default, or the servers named by
ERP_DATABASE_URL / ERP_NATS_URL (e.g. this machine's PostgreSQL 15 and NATS on 4222)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import nats

from services.ops.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.settings import SERVICES, Settings, to_libpq_url, with_database

TEST_DB_PREFIX = "erptest_"


@dataclass
class Infra:
    settings: Settings
    embedded_pg: EmbeddedPostgres | None
    embedded_nats: EmbeddedNats | None
    tmp: Path


EXTERNAL_POOL_SIZE = 3


@contextmanager
def infrastructure() -> Iterator[Infra]:
    tmp = Path(tempfile.mkdtemp(prefix="erp-test-"))
    pg = nats_server = None
    db_url = os.environ.get("ERP_DATABASE_URL")
    nats_url = os.environ.get("ERP_NATS_URL")
    if not db_url:
        pg = EmbeddedPostgres(tmp / "pg", free_port(), durable=False)
        db_url = pg.start()
    if not nats_url:
        nats_server = EmbeddedNats(tmp / "nats", free_port())
        nats_url = nats_server.start()
    if pg is None:
        # A server of one's own (a stock one allows 100 connections): every service of the
        # session, and the `erp up`/bench processes the tests start, use small pools.
        os.environ.setdefault("ERP_DB_POOL_SIZE", str(EXTERNAL_POOL_SIZE))
    root = f"t{secrets.token_hex(3)}"
    settings = replace(
        Settings.from_env({k: v for k, v in os.environ.items() if k == "ERP_DB_POOL_SIZE"}),
        data_dir=tmp / "data",
        database_url=db_url,
        database_prefix=TEST_DB_PREFIX,
        nats_url=nats_url,
        subject_root=root,
        grpc_ports={s: free_port() for s in SERVICES},
        gateway_port=free_port(),
        max_deliveries=3,
    )
    asyncio.run(drop_test_databases(db_url))
    try:
        yield Infra(settings, pg, nats_server, tmp)
    finally:
        asyncio.run(delete_streams(settings))
        if nats_server:
            nats_server.stop()
        if pg:
            pg.stop()
        else:
            asyncio.run(drop_test_databases(db_url))
        shutil.rmtree(tmp, ignore_errors=True)


async def drop_test_databases(server_url: str) -> None:
    conn = await asyncpg.connect(with_database(to_libpq_url(server_url), "postgres"))
    try:
        names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", TEST_DB_PREFIX + "%")
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_streams(settings: Settings) -> None:
    nc = await nats.connect(settings.require_nats_url())
    js = nc.jetstream()
    for name in [stream_name(settings.subject_root, s) for s in SERVICES] + [dlq_stream_name(settings.subject_root)]:
        with suppress(Exception):
            await js.delete_stream(name)
    await nc.close()
