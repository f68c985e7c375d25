"""Autogenerate the next Alembic revision of one service from its tables.py.

    python tools/new_migration.py <service> "message" [--database-url postgresql://...]

Applies the existing history to a scratch database on the given server (default: the
machine's PostgreSQL at 127.0.0.1:5432), then writes the difference as a new revision.
Review the file before committing it.
"""

from __future__ import annotations

import argparse
import asyncio
import os

import asyncpg
from alembic import command

from services.runtime.migrations import alembic_config
from services.runtime.settings import to_asyncpg_url, with_database


async def _recreate(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service")
    parser.add_argument("message")
    parser.add_argument(
        "--database-url", default=os.environ.get("ERP_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    ns = parser.parse_args()
    scratch = f"scratch_{ns.service}_db"
    asyncio.run(_recreate(ns.database_url, scratch))
    url = to_asyncpg_url(with_database(ns.database_url, scratch))
    cfg = alembic_config(ns.service, url)
    command.upgrade(cfg, "head")
    command.revision(cfg, message=ns.message, autogenerate=True)


if __name__ == "__main__":
    main()
