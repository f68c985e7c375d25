"""A generated monolith (monolith.generate, 300 employees) in `erptest_monolith_src`, plus a table
no service owns; scenarios that write to the monolith work on their own copy of it (CREATE
DATABASE ... TEMPLATE). Each scenario migrates into its own `erptest_mig_<x>_*` databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from monolith.generate import generate
from monolith.load import load_monolith
from services.ops.monolith_migration.common import Context
from services.runtime.settings import Settings, to_libpq_url, with_database

SOURCE_DB = "erptest_monolith_src"
EMPLOYEES = 300


def server(settings: Settings) -> str:
    assert settings.database_url
    return with_database(to_libpq_url(settings.database_url), "postgres")


@pytest.fixture(scope="session")
async def monolith_url(settings: Settings) -> AsyncIterator[str]:
    url = with_database(server(settings), SOURCE_DB)
    await load_monolith(url, generate(EMPLOYEES))
    conn = await asyncpg.connect(url)
    try:  # a table the services do not define: analyse must report it, nobody copies it
        await conn.execute("CREATE TABLE legacy_fax_log (id serial PRIMARY KEY, sent_to text, sent_at timestamp)")
        await conn.execute("INSERT INTO legacy_fax_log (sent_to, sent_at) VALUES ('+49 30 1234', now())")
    finally:
        await conn.close()
    yield url


async def clone(settings: Settings, template_url: str, name: str) -> str:
    """A private copy of the generated monolith (for scenarios that write to it)."""
    conn = await asyncpg.connect(server(settings))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[1]}"')
    finally:
        await conn.close()
    return with_database(server(settings), name)


@pytest.fixture(scope="session")
def make_context(settings: Settings) -> Callable[[str, str, Path], Context]:
    def make(prefix: str, source_url: str, folder: Path) -> Context:
        return Context(
            replace(settings, database_prefix=f"erptest_mig_{prefix}_", data_dir=folder),
            source_url,
            folder / "plan.json",
            quiet=True,
        )

    return make
