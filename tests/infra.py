"""Real PostgreSQL and NATS for the suite: embedded by default, or the servers named by
ERP_DATABASE_URL / ERP_NATS_URL (e.g. this machine's PostgreSQL 15 and NATS on 4222)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from services.ops.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from services.ops.scratch import delete_streams, drop_databases
from services.runtime.settings import SERVICES, Settings

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
    asyncio.run(drop_databases(db_url, TEST_DB_PREFIX))
    try:
        yield Infra(settings, pg, nats_server, tmp)
    finally:
        asyncio.run(delete_streams(settings))
        if nats_server:
            nats_server.stop()
        if pg:
            pg.stop()
        else:
            asyncio.run(drop_databases(db_url, TEST_DB_PREFIX))
        shutil.rmtree(tmp, ignore_errors=True)
