"""Which document an operation runs: sent in full, by automatic persisted query, or from the
trusted-documents allow-list.

Automatic persisted queries (Apollo's `extensions.persistedQuery = {version: 1, sha256Hash}`):
- hash only, known -> that document; unknown -> PERSISTED_QUERY_NOT_FOUND (the client then sends
  the document with its hash);
- document + hash -> the hash is verified (sha256 of the exact text), the document is kept
  (least recently used documents go first past `cache_size`) and runs.

Trusted documents (ERP_GATEWAY_TRUSTED_DOCUMENTS, a JSON manifest `{sha256: document}` written
by `tools/trusted_documents.py` from the `.graphql` files under `clients/`): only those documents
run, named by hash (persistedQuery) or sent in full; anything else is refused before parsing.
The hashes are of each operation's canonical text (see `canonical_operations`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    NameNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class DocumentError(Exception):
    """The operation's document cannot be had; a GraphQL request error with this code."""

    message: str
    code: str

    def __str__(self) -> str:
        return self.message


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _with_typename(selection_set: SelectionSetNode, top: bool = False) -> SelectionSetNode:
    """`__typename` selected in every object selection (what generated clients ask for)."""
    selections = [
        FieldNode(
            alias=s.alias,
            name=s.name,
            arguments=s.arguments,
            directives=s.directives,
            selection_set=_with_typename(s.selection_set),
        )
        if isinstance(s, FieldNode) and s.selection_set is not None
        else s
        for s in selection_set.selections
    ]
    if not top and not any(
        isinstance(s, FieldNode) and not s.alias and s.name.value == "__typename" for s in selections
    ):
        selections.append(FieldNode(name=NameNode(value="__typename"), arguments=(), directives=()))
    return SelectionSetNode(selections=tuple(selections))


def _spreads(node: Node) -> set[str]:
    found: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            found.add(spread.name.value)

    visit(node, Collect())
    return found


def canonical_operations(
    document: DocumentNode, fragments: Mapping[str, FragmentDefinitionNode] | None = None
) -> dict[str, str]:
    """Each named operation of `document` as a standalone canonical document: the operation, then
    the fragments it uses (transitively, from `document` and `fragments`) by name, with `__typename`
    in every object selection, printed by graphql-core. Generated clients send exactly this."""
    known = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    known = {**(fragments or {}), **known}
    out: dict[str, str] = {}
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode) or operation.name is None:
            continue
        used: dict[str, FragmentDefinitionNode] = {}
        pending = _spreads(operation)
        while pending:
            name = pending.pop()
            if name in used or name not in known:
                continue
            used[name] = known[name]
            pending |= _spreads(known[name])
        parts: list[ExecutableDefinitionNode] = [
            OperationDefinitionNode(
                operation=operation.operation,
                name=operation.name,
                variable_definitions=operation.variable_definitions,
                directives=operation.directives,
                selection_set=_with_typename(operation.selection_set, top=True),
            )
        ]
        parts += [
            FragmentDefinitionNode(
                name=f.name,
                type_condition=f.type_condition,
                variable_definitions=f.variable_definitions,
                directives=f.directives,
                selection_set=_with_typename(f.selection_set),
            )
            for _, f in sorted(used.items())
        ]
        out[operation.name.value] = "\n\n".join(print_ast(p) for p in parts)
    return out


def canonical_document(document: DocumentNode) -> str:
    """The canonical text of a document holding one named operation (its hash is its identity)."""
    operations = canonical_operations(document)
    return next(iter(operations.values())) if len(operations) == 1 else ""


def load_manifest(path: Path) -> dict[str, str]:
    """`{sha256: document}`; every hash is checked against its document."""
    raw = json.loads(path.read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a trusted-documents manifest is a JSON object {{sha256: document}}")
    manifest: dict[str, str] = {}
    for key, document in raw.items():
        if not isinstance(document, str) or sha256(document) != key:
            raise ValueError(f"{path}: {key} is not the sha256 of its document")
        manifest[key] = document
    return manifest


class PersistedDocuments:
    def __init__(
        self,
        *,
        apq: bool = True,
        cache_size: int = 10_000,
        trusted: Mapping[str, str] | None = None,
        max_tokens: int = 15_000,
    ) -> None:
        self.apq = apq
        self.max_tokens = max_tokens
        self.cache_size = cache_size
        self.trusted = dict(trusted) if trusted is not None else None
        self._cache: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document to run (None: no query at all). Raises DocumentError."""
        persisted = (extensions or {}).get("persistedQuery")
        digest = self._hash_of(persisted) if persisted is not None else None
        if self.trusted is not None:
            return self._trusted(query, digest)
        if digest is None:
            return query
        if not self.apq:
            raise DocumentError("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")
        if query is not None:
            if sha256(query) != digest:
                raise DocumentError("provided sha256Hash does not match the query", "PERSISTED_QUERY_HASH_MISMATCH")
            self._remember(digest, query)
            return query
        found = self._cache.get(digest)
        if found is None:
            raise DocumentError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        self._cache.move_to_end(digest)
        return found

    def _hash_of(self, persisted: Any) -> str:
        if not isinstance(persisted, Mapping):
            raise DocumentError("extensions.persistedQuery must be an object", "BAD_REQUEST")
        if persisted.get("version") != 1:
            raise DocumentError("only persistedQuery version 1 is supported", "PERSISTED_QUERY_NOT_SUPPORTED")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not SHA256.match(digest):
            raise DocumentError("persistedQuery.sha256Hash must be 64 lower-case hex digits", "BAD_REQUEST")
        return digest

    def _trusted(self, query: str | None, digest: str | None) -> str:
        assert self.trusted is not None
        if digest is not None:
            document = self.trusted.get(digest)
            if document is None:
                raise DocumentError(
                    "this operation is not one of the trusted documents of this server", "PERSISTED_QUERY_NOT_IN_LIST"
                )
            if query is not None and query != document and sha256(query) != digest:
                raise DocumentError("provided sha256Hash does not match the query", "PERSISTED_QUERY_HASH_MISMATCH")
            return document
        if query is None:
            raise DocumentError(
                "this server runs trusted documents only: send extensions.persistedQuery.sha256Hash",
                "PERSISTED_QUERY_ID_REQUIRED",
            )
        if sha256(query) in self.trusted:
            return query
        try:
            canonical = canonical_document(parse(query, max_tokens=self.max_tokens))
        except GraphQLError:
            canonical = ""
        if canonical and sha256(canonical) in self.trusted:
            return query
        raise DocumentError(
            "this server runs trusted documents only, and this operation is not one of them", "QUERY_NOT_IN_SAFELIST"
        )

    def _remember(self, digest: str, query: str) -> None:
        self._cache[digest] = query
        self._cache.move_to_end(digest)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def __len__(self) -> int:
        return len(self._cache)
