"""Files a process creates once and every process then shares (development keys, their JWKS)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def create_once(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `path` with `data` unless it exists. The data goes to a private temporary file that is
    then hard-linked into place: nobody ever reads a partial file, the mode holds from the start,
    and when processes race the first one's file stays (the others use it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        with contextlib.suppress(FileExistsError):  # another process created it first: keep theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
