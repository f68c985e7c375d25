"""Which database server an operator command talks to: the configured one (ERP_DATABASE_URL, or
the run file of a running `erp up`), else the embedded one, started for the command and stopped
after it when it was not running."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace

from services.ops.embedded import EmbeddedPostgres
from services.runtime.settings import Settings

EMBEDDED_PG_PORT = 55432
EMBEDDED_NATS_PORT = 54222


def embedded_postgres(settings: Settings, env: dict[str, str] | None = None) -> EmbeddedPostgres:
    """The `erp up` server: data in <data_dir>/postgres, WAL archive in <data_dir>/wal-archive."""
    port = int((env if env is not None else os.environ).get("ERP_EMBEDDED_PG_PORT", EMBEDDED_PG_PORT))
    return EmbeddedPostgres(settings.data_dir / "postgres", port, archive_dir=settings.data_dir / "wal-archive")


def uses_embedded(settings: Settings) -> bool:
    return not settings.database_url and not settings.service_database_urls


@contextlib.contextmanager
def database_server(settings: Settings) -> Iterator[Settings]:
    if not uses_embedded(settings):
        yield settings
        return
    pg = embedded_postgres(settings)
    was_running = pg.is_running()
    url = pg.start()
    try:
        yield replace(settings, database_url=url)
    finally:
        if not was_running:
            pg.stop()
