"""Parsed documents, cached by query text: a client sends the same few operations again and again.

Only parsing is cached (with the token limit it ran under), never validation, which depends on
the variables and the caller, nor any result. A document that does not parse is not cached:
Strawberry parses it again and reports the error as usual.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

PARSED_DOCUMENTS = 512


@functools.lru_cache(maxsize=PARSED_DOCUMENTS)
def _parsed(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class ParsedDocuments(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.query is not None and ctx.graphql_document is None and set(ctx.parse_options) <= {"max_tokens"}:
            with contextlib.suppress(GraphQLError):
                ctx.graphql_document = _parsed(ctx.query, ctx.parse_options.get("max_tokens"))
        yield
