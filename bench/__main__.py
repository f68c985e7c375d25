"""`python -m bench [--size tiny|small|full] [--only NAME ...]`: run the scenarios, print a table
per scenario, write bench/results/<scenario>-<timestamp>.json (and, for a full run or with
--write-readme, the summary in bench/README.md). Exits 1 when a scenario could not run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from bench import report, summary
from bench.env import Infra, infrastructure
from bench.scenarios import SCENARIOS, STANDALONE
from bench.setup import Bench, close, prepare
from bench.sizes import SIZES, Size


async def run_all(
    infra: Infra, size: Size, names: list[str], results_dir: Path
) -> tuple[list[report.Result], dict[str, Any]]:
    bench: Bench | None = None
    if any(n not in STANDALONE for n in names):
        bench = await prepare(infra, size)
    machine = report.machine_info(infra.versions, bench.machine_extra() if bench else {})
    results = []
    try:
        for name in names:
            module = SCENARIOS[name]
            try:
                result = await (module.run(size) if name in STANDALONE else module.run(bench))
            except Exception as exc:
                result = report.Result(name, size, error=f"{type(exc).__name__}: {exc}")
                result.notes.append(traceback.format_exc(limit=6)[-3000:])
                if bench and bench.problems:
                    result.notes.append(f"processes that did not start: {bench.problems}")
            result.info["load_average_at_end"] = list(os.getloadavg())
            print(report.table(result), flush=True)
            print(f"-> {report.write(result, machine, results_dir)}\n", flush=True)
            results.append(result)
    finally:
        if bench:
            await close(bench)
    return results, machine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only this scenario (repeatable)")
    parser.add_argument("--no-fsync", action="store_true", help="embedded PostgreSQL without fsync (tests' setting)")
    parser.add_argument("--write-readme", action="store_true", help="put the summary in bench/README.md")
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS)
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    size = SIZES[ns.size]
    names = [n for n in SCENARIOS if not ns.only or n in ns.only]
    with infrastructure(durable=not ns.no_fsync) as infra:
        results, machine = asyncio.run(run_all(infra, size, names, ns.results_dir))
    text = summary.markdown(results, machine)
    print(text)
    if ns.write_readme or size.name == "full":
        summary.update_readme(text)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
