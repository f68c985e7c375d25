"""Helpers for the operations tests: the `erp` command as a subprocess, private databases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import nats

from services.ops.embedded import free_port
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.settings import SERVICES, Settings, to_libpq_url, with_database

ROOT = Path(__file__).resolve().parents[2]


def erp_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ERP_DATABASE_URL": settings.database_url or "",
            "ERP_DATABASE_PREFIX": settings.database_prefix,
            "ERP_NATS_URL": settings.nats_url or "",
            "ERP_SUBJECT_ROOT": settings.subject_root,
            "ERP_DATA_DIR": str(settings.data_dir),
        }
    )
    env.update(extra)
    return env


def erp(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `erp <args>` against `settings`' servers; `extra` overrides environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "services.ops.cli", *args],
        cwd=ROOT,
        env=erp_env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def private(settings: Settings, tag: str) -> Settings:
    """The suite's servers with databases `erptest_<tag>_<service>_db` and a subject root of its own."""
    return replace(
        settings,
        database_prefix=f"erptest_{tag}_",
        subject_root=f"{settings.subject_root}{tag}{secrets.token_hex(2)}",
        grpc_ports={s: free_port() for s in SERVICES},
        data_dir=settings.data_dir / tag,
    )


async def migrate(settings: Settings, services: list[str]) -> None:
    await ensure_databases(settings, services)
    for service in services:
        await asyncio.to_thread(upgrade, settings, service)


async def drop_databases(settings: Settings) -> None:
    conn = await asyncpg.connect(with_database(to_libpq_url(settings.database_url or ""), "postgres"))
    try:
        names = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", settings.database_prefix + "%"
        )
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_streams(settings: Settings) -> None:
    nc = await nats.connect(settings.require_nats_url())
    js = nc.jetstream()
    for name in [stream_name(settings.subject_root, s) for s in SERVICES] + [dlq_stream_name(settings.subject_root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await nc.close()


@contextlib.asynccontextmanager
async def private_system(settings: Settings, tag: str, services: list[str]) -> AsyncIterator[Settings]:
    """Migrated private databases and streams for `services`, removed afterwards."""
    own = private(settings, tag)
    await drop_databases(own)
    await migrate(own, services)
    try:
        yield own
    finally:
        await delete_streams(own)
        await drop_databases(own)


async def connect(settings: Settings, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(to_libpq_url(settings.service_database_url(service)))
