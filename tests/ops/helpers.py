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

from services.ops import scratch
from services.ops.embedded import free_port
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.settings import SERVICES, Settings, to_libpq_url

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
    """The databases of `settings` (its own prefix)."""
    await scratch.drop_databases(settings.database_url or "", settings.database_prefix)


@contextlib.asynccontextmanager
async def private_system(settings: Settings, tag: str, services: list[str]) -> AsyncIterator[Settings]:
    """Migrated private databases and streams for `services`, removed afterwards."""
    own = private(settings, tag)
    await drop_databases(own)
    await migrate(own, services)
    try:
        yield own
    finally:
        await scratch.delete_streams(own)
        await drop_databases(own)


async def connect(settings: Settings, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(to_libpq_url(settings.service_database_url(service)))
