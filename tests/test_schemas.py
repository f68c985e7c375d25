"""Every migrated database matches its service's tables.py, and logical references are documented.

Runs against the session's databases (migrated once by the `settings` fixture) for every service
that has a migrations folder, so a new service is checked as soon as its history exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from erp.common.v1 import options_pb2
from google.protobuf.descriptor import Descriptor
from sqlalchemy import CheckConstraint, MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.migrations import migrated_services
from services.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMMON_TABLES = ("event_store", "processed_events", "outbox")
LOGICAL_REFERENCE = "Logical reference to "
# Read models created by SQL in the migrations (materialized views), never by autogenerate.
VIEWS = frozenset({"invoice_summary"})

SERVICES = migrated_services()

T = TypeVar("T")


def _tables_module(service: str) -> ModuleType:
    return importlib.import_module(f"services.{service}.tables")


def _metadata(service: str) -> MetaData:
    metadata: MetaData = _tables_module(service).Base.metadata
    return metadata


async def _with_connection(settings: Settings, service: str, fn: Callable[[Connection], T]) -> T:
    engine = create_async_engine(settings.service_database_url(service))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name in VIEWS)


def _column_comments(conn: Connection) -> dict[tuple[str, str], str | None]:
    """(table, column) -> comment of every column of every ordinary table in the schema."""
    rows = conn.execute(
        text(
            """
            SELECT c.relname, a.attname, col_description(a.attrelid, a.attnum)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
            """
        )
    )
    return {(table, column): comment for table, column, comment in rows}


def _messages(service: str) -> list[Descriptor]:
    out: list[Descriptor] = []
    for path in sorted((ROOT / "generated" / "erp" / service / "v1").glob("*_pb2.py")):
        module = importlib.import_module(f"erp.{service}.v1.{path.stem}")
        out.extend(module.DESCRIPTOR.message_types_by_name.values())
    return out


def _service_of(full_name: str) -> str:
    """'erp.accounting.v1.JournalEntry' -> 'accounting'."""
    return full_name.split(".")[1]


def _mentions_service(comment: str | None, service: str) -> bool:
    return comment is not None and f"{service.replace('_', ' ')} service" in comment.lower().replace("_", " ")


@pytest.mark.parametrize("service", SERVICES)
async def test_database_matches_tables(settings: Settings, service: str) -> None:
    metadata = _metadata(service)

    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True, "include_object": _include_object}
        )
        return list(compare_metadata(context, metadata))

    differences = await _with_connection(settings, service, diff)
    assert differences == [], f"{service}_db differs from services/{service}/tables.py: {differences}"


@pytest.mark.parametrize("service", SERVICES)
async def test_check_constraints_match_tables(settings: Settings, service: str) -> None:
    """Autogenerate does not compare CHECK constraints: compare their (convention-given) names."""
    declared = {
        (table.name, str(constraint.name))
        for table in _metadata(service).sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }

    def present(conn: Connection) -> set[tuple[str, str]]:
        rows = conn.execute(
            text(
                """
                SELECT c.relname, k.conname
                FROM pg_constraint k
                JOIN pg_class c ON c.oid = k.conrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND k.contype = 'c'
                """
            )
        )
        return {(table, name) for table, name in rows}

    assert declared == await _with_connection(settings, service, present)


@pytest.mark.parametrize("service", SERVICES)
async def test_common_tables_exist(settings: Settings, service: str) -> None:
    def tables(conn: Connection) -> set[str]:
        rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        return {name for (name,) in rows}

    present = await _with_connection(settings, service, tables)
    assert set(COMMON_TABLES) <= present
    assert set(COMMON_TABLES) <= set(_metadata(service).tables)


@pytest.mark.parametrize("service", SERVICES)
async def test_logical_reference_comments_are_in_the_database(settings: Settings, service: str) -> None:
    expected = {
        (table.name, column.name): column.comment
        for table in _metadata(service).sorted_tables
        for column in table.columns
        if column.comment and column.comment.startswith(LOGICAL_REFERENCE)
    }
    comments = await _with_connection(settings, service, _column_comments)
    assert {key: comments.get(key) for key in expected} == expected


@pytest.mark.parametrize("service", SERVICES)
async def test_generated_columns_are_generated(settings: Settings, service: str) -> None:
    computed = {
        (table.name, column.name)
        for table in _metadata(service).sorted_tables
        for column in table.columns
        if column.computed is not None
    }

    def generated(conn: Connection) -> set[tuple[str, str]]:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND is_generated = 'ALWAYS'"
            )
        )
        return {(table, column) for table, column in rows}

    assert computed == await _with_connection(settings, service, generated)


@pytest.mark.parametrize("service", SERVICES)
async def test_cross_service_references_have_a_comment(settings: Settings, service: str) -> None:
    """Every (erp.common.v1.ref) to another service's entity that is stored in a column says so."""
    comments = await _with_connection(settings, service, _column_comments)
    missing = []
    for message in _messages(service):
        table = message.GetOptions().Extensions[options_pb2.table]
        if not table:
            continue
        for field in message.fields:
            ref = field.GetOptions().Extensions[options_pb2.ref]
            if not ref.target or _service_of(ref.target) == service:
                continue
            key = (table, field.name)
            if key not in comments:
                continue  # not a column of a migrated table (e.g. a view or a repeated field)
            if not _mentions_service(comments[key], _service_of(ref.target)):
                missing.append(f"{table}.{field.name} -> {ref.target}: comment {comments[key]!r}")
    assert missing == []


def _declares_read_models(service: str) -> bool:
    try:
        return hasattr(_tables_module(service), "views_metadata")
    except Exception:
        return True  # let the test itself report the broken module


@pytest.mark.parametrize("service", [s for s in SERVICES if _declares_read_models(s)])
async def test_read_models_are_materialized_views(settings: Settings, service: str) -> None:
    """Read-only tables a service declares outside Base.metadata (`views_metadata`) exist as
    materialized views with the declared columns and a unique index (REFRESH ... CONCURRENTLY)."""
    views: MetaData = _tables_module(service).views_metadata

    def describe(conn: Connection) -> dict[str, tuple[list[str], bool]]:
        out = {}
        for name in views.tables:
            columns = (
                conn.execute(
                    text(
                        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                        "WHERE c.relname = :name AND c.relkind = 'm' AND a.attnum > 0 AND NOT a.attisdropped "
                        "ORDER BY a.attnum"
                    ),
                    {"name": name},
                )
                .scalars()
                .all()
            )
            unique = conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_indexes "
                    "WHERE tablename = :name AND indexdef LIKE 'CREATE UNIQUE%')"
                ),
                {"name": name},
            ).scalar_one()
            conn.execute(text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}"))
            out[name] = (list(columns), bool(unique))
        conn.commit()
        return out

    found = await _with_connection(settings, service, describe)
    assert found == {name: ([c.name for c in table.columns], True) for name, table in views.tables.items()}
