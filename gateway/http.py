"""GraphQL over HTTP (the GraphQL-over-HTTP specification): what a request may look like and
what its answer is.

- GET: `query`, `operationName`, `variables` and `extensions` (JSON) in the query string; only
  queries (a mutation is refused with 405 and `Allow: POST`).
- POST: `Content-Type: application/json` (else 415) with a JSON object body (else 400).
- The answer is `application/graphql-response+json` when the client's Accept names it, else
  `application/json`; 406 when the client accepts neither.
- Under `application/graphql-response+json`, a request error (the document does not parse or
  validate, its variables do not coerce, a limit refuses it, a persisted query is unknown) is a
  400 without `data`; under `application/json` it is a 200 (the legacy behaviour clients expect).
  Field errors (e.g. a service down) are always 200 with partial `data`.
- Malformed requests (bad JSON, wrong parameter types, missing query) are 400 in both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import QueryParams

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@dataclass
class HttpError(Exception):
    """The request cannot be handled: this status whatever the media type."""

    status: int
    message: str
    code: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Params:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


_ZERO, _ONE = Decimal(0), Decimal(1)


def _accepted(accept: str) -> dict[str, Decimal]:
    """Media ranges of an Accept header with their quality."""
    out: dict[str, Decimal] = {}
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = _ONE
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = Decimal(value.strip())
                except InvalidOperation:
                    quality = _ZERO
                if not quality.is_finite():
                    quality = _ZERO
        out[media] = max(quality, out.get(media, _ZERO))
    return out


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header (None: nothing acceptable)."""
    if not accept or not accept.strip():
        return JSON
    ranges = _accepted(accept)
    graphql_q = ranges.get(GRAPHQL_RESPONSE, _ZERO)
    json_q = max(ranges.get(JSON, _ZERO), ranges.get("application/*", _ZERO), ranges.get("*/*", _ZERO))
    if graphql_q > 0 and graphql_q >= json_q:
        return GRAPHQL_RESPONSE
    if json_q > 0:
        return JSON
    return GRAPHQL_RESPONSE if graphql_q > 0 else None


def _json_param(raw: str | None, name: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise HttpError(400, f"the `{name}` parameter is not valid JSON", "BAD_REQUEST") from None
    if value is not None and not isinstance(value, dict):
        raise HttpError(400, f"the `{name}` parameter must be a JSON object", "BAD_REQUEST")
    return value


def params_from_query_string(query_params: QueryParams) -> Params:
    return Params(
        query=query_params.get("query") or None,
        variables=_json_param(query_params.get("variables"), "variables"),
        operation_name=query_params.get("operationName") or None,
        extensions=_json_param(query_params.get("extensions"), "extensions"),
    )


def check_content_type(content_type: str | None) -> None:
    media = (content_type or "").split(";")[0].strip().lower()
    if not media:
        raise HttpError(415, "a POST needs `Content-Type: application/json`", "UNSUPPORTED_MEDIA_TYPE")
    if media != JSON:
        raise HttpError(415, f"unsupported content type {media!r}: send `application/json`", "UNSUPPORTED_MEDIA_TYPE")


def params_from_body(body: bytes) -> Params:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"the body is not valid JSON: {exc}", "BAD_REQUEST") from None
    if isinstance(data, list):
        raise HttpError(400, "batched operations are not supported: send one operation per request", "BAD_REQUEST")
    if not isinstance(data, dict):
        raise HttpError(400, "the body must be a JSON object with a `query`", "BAD_REQUEST")
    return params_from_mapping(data)


def params_from_mapping(data: Mapping[str, Any]) -> Params:
    query, variables, name, extensions = (
        data.get("query"),
        data.get("variables"),
        data.get("operationName"),
        data.get("extensions"),
    )
    if query is not None and not isinstance(query, str):
        raise HttpError(400, "`query` must be a string", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise HttpError(400, "`variables` must be an object", "BAD_REQUEST")
    if name is not None and not isinstance(name, str):
        raise HttpError(400, "`operationName` must be a string", "BAD_REQUEST")
    if extensions is not None and not isinstance(extensions, dict):
        raise HttpError(400, "`extensions` must be an object", "BAD_REQUEST")
    return Params(query or None, variables, name or None, extensions)


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
