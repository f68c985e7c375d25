"""A scenario's result: figures per repeat, summarised (median and spread), printed as a table
and written as JSON to bench/results/<scenario>-<timestamp>.json."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.sizes import Size
from bench.stats import summarize

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Target:
    """The issue's target for one figure: `figure <op> threshold` on the figure's median."""

    name: str
    figure: str
    op: str  # "<=" or ">="
    threshold: float

    def check(self, figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
        value = figures.get(self.figure, {}).get("median")
        met = None
        if isinstance(value, float) and not math.isnan(value):
            met = value <= self.threshold if self.op == "<=" else value >= self.threshold
        return {
            "name": self.name,
            "figure": self.figure,
            "target": f"{self.op} {self.threshold:g}",
            "value": value,
            "met": met,
        }


@dataclass
class Result:
    scenario: str
    size: Size
    repeats: list[dict[str, float]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def figures(self) -> dict[str, dict[str, Any]]:
        names: dict[str, None] = {}
        for r in self.repeats:
            names.update(dict.fromkeys(r))
        return {n: summarize([r[n] for r in self.repeats if n in r]) for n in names}

    def to_json(self, machine: dict[str, Any]) -> dict[str, Any]:
        figures = self.figures()
        return {
            "scenario": self.scenario,
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "size": self.size.name,
            "sizes": self.size.as_dict(),
            "machine": machine,
            "repeats": len(self.repeats),
            "figures": figures,
            "info": self.info,
            "targets": [t.check(figures) for t in self.targets],
            "notes": self.notes,
            "error": self.error,
        }


def machine_info(versions: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
        **versions,
        **extra,
    }


def write(result: Result, machine: dict[str, Any], results_dir: Path = RESULTS) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{result.scenario}-{stamp}.json"
    path.write_text(json.dumps(result.to_json(machine), indent=2, default=str))
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def table(result: Result) -> str:
    figures = result.figures()
    width = max([len(n) for n in figures] + [6])
    lines = [f"== {result.scenario} ({result.size.name}, {len(result.repeats)} repeat(s)) =="]
    if result.error:
        lines.append(f"ERROR: {result.error}")
    lines.append(f"{'figure':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  {'spread%':>8}")
    for name, s in figures.items():
        lines.append(
            f"{name:<{width}}  {_fmt(s['median']):>10}  {_fmt(s['min']):>10}  {_fmt(s['max']):>10}  "
            f"{_fmt(s['spread_pct']):>8}"
        )
    for t in (t.check(figures) for t in result.targets):
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append(f"target {t['name']}: {t['figure']} {t['target']} -> {_fmt(t['value'])} [{verdict}]")
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines)
