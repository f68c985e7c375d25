"""Alembic environment shared by every service: one history per service database.

The service name and URL come from the Config's attributes (see services.runtime.migrations).
"""

from __future__ import annotations

import asyncio
import importlib

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
service: str = config.attributes["service"]
url: str = config.attributes["url"]
target_metadata = importlib.import_module(f"services.{service}.tables").Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_schemas=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


asyncio.run(_main())
