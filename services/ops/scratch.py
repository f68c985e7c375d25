"""Removing what a run made on servers it may share with others: the databases named with its
prefix and the JetStream streams of its subject root (the test suite, the benchmarks, the ops
tests each use a prefix and a root of their own)."""

from __future__ import annotations

import contextlib

import asyncpg
import nats

from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.settings import SERVICES, Settings, to_libpq_url, with_database


async def drop_databases(server_url: str, prefix: str) -> None:
    """Drop every database whose name starts with `prefix` (connections to them are ended)."""
    conn = await asyncpg.connect(with_database(to_libpq_url(server_url), "postgres"))
    try:
        for row in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_streams(settings: Settings) -> None:
    """Delete the services' streams and the dead-letter stream of `settings.subject_root`."""
    nc = await nats.connect(settings.require_nats_url())
    js = nc.jetstream()
    for name in [stream_name(settings.subject_root, s) for s in SERVICES] + [dlq_stream_name(settings.subject_root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await nc.close()
