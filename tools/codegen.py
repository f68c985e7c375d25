"""Regenerate everything derived from the contracts.

`make codegen` runs this: Python messages, gRPC stubs and .pyi stubs from `protos/` into
`generated/`, the vendored google/type protos buf needs for lint, and the gateway's SDL in
`gateway/schema.graphql`. `--out DIR` writes into DIR instead (the staleness test uses it).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
VENDORED = ("google/type/date.proto", "google/type/decimal.proto")


def _googleapis_dir() -> Path:
    import google.type.date_pb2 as date_pb2

    return Path(date_pb2.__file__).resolve().parent.parent.parent


def proto_files() -> list[Path]:
    return sorted(PROTOS.rglob("*.proto"))


def generate_python(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    wkt = Path(grpc_tools.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{_googleapis_dir()}",
        f"-I{wkt}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *[str(p.relative_to(PROTOS)) for p in proto_files()],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for pkg in {p.parent for p in out.rglob("*_pb2.py")}:
        d = pkg
        while d != out:
            (d / "__init__.py").touch()
            d = d.parent
    (out / "erp" / "py.typed").touch()


def vendor_google_protos(out: Path) -> None:
    src = _googleapis_dir()
    for rel in VENDORED:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, target)


def export_sdl(out_file: Path) -> None:
    module = importlib.import_module("gateway.schema")
    out_file.write_text(module.schema.as_str() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="write into this directory instead of the tree")
    ns = parser.parse_args()
    base: Path = ns.out or ROOT
    gen = base / "generated"
    if ns.out is None:
        with tempfile.TemporaryDirectory() as tmp:
            generate_python(Path(tmp))
            shutil.rmtree(gen / "erp", ignore_errors=True)
            shutil.copytree(Path(tmp) / "erp", gen / "erp")
    else:
        generate_python(gen)
    vendor_google_protos(base / "third_party" / "googleapis")
    if (ROOT / "gateway" / "schema.py").exists():
        (base / "gateway").mkdir(parents=True, exist_ok=True)
        export_sdl(base / "gateway" / "schema.graphql")


if __name__ == "__main__":
    main()
