"""Databases and schema migrations: create each service's database, apply its Alembic history."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from services.runtime.settings import SERVICES, Settings, to_libpq_url, with_database

RUNTIME_DIR = Path(__file__).resolve().parent
SERVICES_DIR = RUNTIME_DIR.parent


def migrated_services() -> list[str]:
    """Services whose folder has tables and a migration history."""
    return [s for s in SERVICES if (SERVICES_DIR / s / "migrations").is_dir()]


def runnable_services() -> list[str]:
    """Services with an API to run (a `service.py` declaring their ServiceDefinition)."""
    return [s for s in migrated_services() if (SERVICES_DIR / s / "service.py").is_file()]


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(RUNTIME_DIR / "alembic"))
    cfg.set_main_option("version_locations", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["service"] = service
    cfg.attributes["url"] = url
    return cfg


async def ensure_databases(settings: Settings, services: list[str] | None = None) -> list[str]:
    """Create every missing service database (all eight by default); returns those created."""
    created: list[str] = []
    for service in services or list(SERVICES):
        url = to_libpq_url(settings.service_database_url(service))
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        conn = await asyncpg.connect(with_database(url, "postgres"))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
        finally:
            await conn.close()
    return created


def upgrade(settings: Settings, service: str) -> None:
    """Apply one service's migrations up to head (idempotent). Runs its own event loop."""
    if importlib.util.find_spec(f"services.{service}.tables") is None:
        return
    command.upgrade(alembic_config(service, settings.service_database_url(service)), "head")


def upgrade_all(settings: Settings) -> list[str]:
    done = []
    for service in migrated_services():
        upgrade(settings, service)
        done.append(service)
    return done
