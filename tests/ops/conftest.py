"""The operations tests share one log scan: every log record of the tests/ops run (the in-process
services, relays and consumers, and the output of the service processes the tests start) is
formatted as production writes it (JSON, redacted) and must not contain a known test secret.

Limitation: the scan sees what runs during tests/ops (in this process, and the subprocess output
handed to `log_lines`), not the log of every test package; and it can only look for the secrets
the tests are known to use."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from services.runtime.logging import JsonFormatter
from tests.employee.helpers import IBAN, SSN

SECRETS = (SSN, IBAN, "987-65-4321", "GB33BUKB20201555555555")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("tests"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="package")
def log_lines() -> Iterator[list[str]]:
    """Every formatted log line of the tests/ops run; tests append their subprocesses' output."""
    handler = _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    leaked = [line for line in handler.lines if any(secret in line for secret in SECRETS)]
    assert not leaked, f"sensitive values in {len(leaked)} log lines, e.g. {leaked[0][:300]}"


@pytest.fixture(autouse=True)
def _scan_logs(log_lines: list[str]) -> None:
    """Every test of tests/ops runs under the scan."""
