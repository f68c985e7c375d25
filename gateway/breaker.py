"""A circuit breaker per service: a service that keeps failing is skipped for a while.

Closed: calls go through; `failures` consecutive UNAVAILABLE / DEADLINE_EXCEEDED answers open it.
Open: calls fail at once (no RPC is made) until `cooldown_s` has passed.
Half-open: one call goes through as a probe, the others still fail at once; the probe's success
closes the circuit, its failure opens it for another cool-down.

Any other answer (OK, NOT_FOUND, INVALID_ARGUMENT, ...) proves the service is up and resets the
count: only transport-level trouble opens the circuit.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

import grpc

log = logging.getLogger(__name__)

TRIPPING = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """The call was not made: the service's circuit is open."""

    def __init__(self, service: str, retry_after_s: float) -> None:
        super().__init__(f"circuit of {service} is open")
        self.service = service
        self.retry_after_s = retry_after_s


class CircuitBreaker:
    def __init__(
        self,
        service: str,
        *,
        failures: int = 5,
        cooldown_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.threshold = max(failures, 1)
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.state = State.CLOSED
        self.consecutive_failures = 0
        self.opened_at = 0.0
        self.rejected = 0  # calls skipped while open (for tests and logs)
        self._probing = False

    def before_call(self) -> None:
        """Raises CircuitOpen when the call must not be made."""
        if self.state is State.CLOSED:
            return
        now = self.clock()
        if self.state is State.OPEN and now - self.opened_at >= self.cooldown_s:
            self.state = State.HALF_OPEN
            self._probing = False
        if self.state is State.HALF_OPEN and not self._probing:
            self._probing = True
            log.info("circuit of %s half-open: probing", self.service)
            return
        self.rejected += 1
        raise CircuitOpen(self.service, max(self.cooldown_s - (now - self.opened_at), 0.0))

    def on_result(self, code: grpc.StatusCode) -> None:
        if code in TRIPPING:
            self._failed()
        else:
            self._succeeded()

    def abandoned(self) -> None:
        """The call ended without an answer (cancelled): a probe may be tried again."""
        if self.state is State.HALF_OPEN:
            self._probing = False

    def _succeeded(self) -> None:
        if self.state is not State.CLOSED:
            log.info("circuit of %s closed: the service answers again", self.service)
        self.state = State.CLOSED
        self.consecutive_failures = 0
        self._probing = False

    def _failed(self) -> None:
        self.consecutive_failures += 1
        if self.state is State.HALF_OPEN or (
            self.state is State.CLOSED and self.consecutive_failures >= self.threshold
        ):
            log.warning(
                "circuit of %s open for %.1fs after %d failed calls",
                self.service,
                self.cooldown_s,
                self.consecutive_failures,
            )
            self.state = State.OPEN
            self.opened_at = self.clock()
            self._probing = False
