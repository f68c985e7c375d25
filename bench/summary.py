"""A markdown summary of one `python -m bench` run (kept in bench/README.md between markers)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.report import Result

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _n(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def markdown(results: list[Result], machine: dict[str, Any]) -> str:
    size = results[0].size if results else None
    head = (
        f"Size `{size.name if size else '?'}` ({size.employees if size else '?'} employees), "
        f"{machine.get('cpu_count')} CPUs, Python {machine.get('python')}, PostgreSQL {machine.get('postgres')} "
        f"(fsync {machine.get('postgres_fsync')}), NATS {machine.get('nats')}. Medians over the repeats; "
        "spread = (max - min) / median."
    )
    out = [head, "", "| target | figure | median | met |", "|---|---|---|---|"]
    for r in results:
        for t in (t.check(r.figures()) for t in r.targets):
            met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
            out.append(f"| {t['name']} | `{t['figure']}` {t['target']} | {_n(t['value'])} | {met} |")
    for r in results:
        out += ["", f"**{r.scenario}** ({len(r.repeats)} repeats)" + (f" — error: {r.error}" if r.error else ""), ""]
        out += ["| figure | median | min | max | spread % |", "|---|---|---|---|---|"]
        for name, s in r.figures().items():
            if name.endswith("_p99_ms"):  # in the JSON; kept out of the summary for brevity
                continue
            out.append(f"| {name} | {_n(s['median'])} | {_n(s['min'])} | {_n(s['max'])} | {_n(s['spread_pct'])} |")
        out += [f"- {note}" for note in r.notes]
    return "\n".join(out)


def update_readme(text: str, readme: Path = README) -> None:
    current = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in current:
        current += f"\n{START}\n{END}\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    readme.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", current))
