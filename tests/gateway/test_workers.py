"""`ERP_GATEWAY_WORKERS`: the gateway as several uvicorn worker processes on one port."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from starlette.applications import Starlette
from uvicorn.importer import import_from_string

import gateway.__main__ as entry
from gateway.config import GatewayConfig


def test_workers_default_to_one_and_must_be_positive() -> None:
    assert GatewayConfig.from_env({}).workers == 1
    assert GatewayConfig.from_env({"ERP_GATEWAY_WORKERS": "3"}).workers == 3
    with pytest.raises(ValueError, match="ERP_GATEWAY_WORKERS"):
        GatewayConfig.from_env({"ERP_GATEWAY_WORKERS": "0"})


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def run(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("run", args, kwargs))

    def server(self, config: Any) -> Recorder:
        self.calls.append(("server", (config,), {}))
        return self


@pytest.mark.parametrize("workers", ["1", "4"])
def test_main_serves_one_app_or_a_supervisor_of_workers(monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    monkeypatch.setenv("ERP_GATEWAY_WORKERS", workers)
    recorder = Recorder()
    monkeypatch.setattr(entry.uvicorn, "run", recorder.run)
    monkeypatch.setattr(entry.uvicorn, "Server", recorder.server)

    try:
        entry.main()
    finally:
        gc.unfreeze()

    if workers == "1":
        (kind, (config,), _), (then, _, _) = recorder.calls
        assert (kind, then) == ("server", "run")
        assert isinstance(config.app, Starlette) and config.workers == 1
    else:
        [(kind, (target,), options)] = recorder.calls
        assert kind == "run"
        assert options["workers"] == 4 and options["factory"] is True
        assert import_from_string(target) is entry.worker_app


def test_a_worker_builds_its_own_app_and_freezes_what_it_built() -> None:
    try:
        first, second = entry.worker_app(), entry.worker_app()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert isinstance(first, Starlette) and first is not second
    assert first.state.clients is not second.state.clients
