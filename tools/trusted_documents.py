"""Write the trusted-documents manifest from the clients' operations.

Every named operation in the `.graphql` files under `clients/` becomes one entry
`{sha256: document}` of `clients/trusted-documents.json`, the document in its canonical form
(`gateway.documents.canonical_operations`: the operation and the fragments it uses, with
`__typename` in every object selection, as the generated clients send it). A gateway started with
ERP_GATEWAY_TRUSTED_DOCUMENTS=clients/trusted-documents.json runs these operations and no others.

`make client` runs it; `--check` fails when the manifest is stale (CI).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from graphql import FragmentDefinitionNode, parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.documents import canonical_operations, sha256  # noqa: E402

CLIENTS = ROOT / "clients"
MANIFEST = CLIENTS / "trusted-documents.json"


def manifest(clients: Path = CLIENTS) -> dict[str, str]:
    """`{sha256: document}` for every named operation of the `.graphql` files under `clients`."""
    files = sorted(clients.rglob("*.graphql"))
    documents = [parse(f.read_text(), no_location=True) for f in files]
    fragments = {
        d.name.value: d for doc in documents for d in doc.definitions if isinstance(d, FragmentDefinitionNode)
    }
    out: dict[str, str] = {}
    for document in documents:
        for text in canonical_operations(document, fragments).values():
            out[sha256(text)] = text
    return dict(sorted(out.items()))


def render(entries: dict[str, str]) -> str:
    return json.dumps(entries, indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the manifest is not up to date")
    parser.add_argument("--out", type=Path, default=MANIFEST)
    ns = parser.parse_args()
    text = render(manifest())
    if ns.check:
        if not ns.out.exists() or ns.out.read_text() != text:
            raise SystemExit(f"{ns.out} is stale: run `make client`")
        return
    ns.out.write_text(text)
    print(f"{ns.out.relative_to(ROOT) if ns.out.is_relative_to(ROOT) else ns.out}: {len(json.loads(text))} operations")


if __name__ == "__main__":
    main()
