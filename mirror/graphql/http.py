"""The GraphQL Content API of one served revision, on the wire (shared/GRAPHQL.md §1-2):
`/content/v1/spaces/{space}[/environments/{env}]`, POST (JSON or form) and GET
(`query`, `variables`, `operationName`, `extensions`), automatic persisted queries,
and every answer in Contentful's shape. Token checks stay with the server, which
applies the REST API's rules; this module says how a refusal is worded here."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError

from mirror.delivery.http import Response
from mirror.delivery.lru import Lru
from mirror.graphql import execution, limits
from mirror.graphql.context import RequestContext
from mirror.graphql.errors import RequestError, contentful, with_request_id
from mirror.graphql.revision import RevisionSource
from mirror.wire import compact_json

PATH = re.compile(r"^/content/v1/spaces/([^/]+)(?:/environments/([^/]+))?/?$")
PREFIX = "/content/v1/"
MEDIA_TYPE = "application/json; charset=utf-8"
COST_HEADER = "X-Contentful-Graphql-Query-Cost"
DOCUMENTS = 512  # parsed and validated documents kept per revision
PERSISTED_QUERIES = 1000
ANSWERS = 1024  # answers kept per revision, in at most ANSWER_BYTES
ANSWER_BYTES = 64 * 2**20
MAX_TOKENS = 10_000


@dataclass
class GraphQLRequest:
    """What the server read of one request."""

    method: str
    path: str
    query: list[tuple[str, str]]  # decoded query pairs, access_token removed
    content_type: str
    body: bytes
    host: str
    body_size: int = 0  # a POST's Content-Length (its body is not read past the limit)
    body_size_exact: bool = True  # False: a chunked body of more than body_size - 1 bytes


@dataclass
class _Params:
    query: str | None
    variables: dict[str, Any]
    operation_name: str | None
    extensions: dict[str, Any]


def token_refused(offered: str | None) -> Response:
    """401 for a request without the token `--access-token` set, or with another
    (messages unverified; codes and status as Contentful documents them)."""
    if offered is None:
        error = RequestError(
            401,
            "ACCESS_TOKEN_MISSING",
            "The request has no access token: send it as `Authorization: Bearer TOKEN` or as "
            "the access_token query parameter",
        )
    else:
        error = RequestError(
            401,
            "ACCESS_TOKEN_INVALID",
            "The access token you sent could not be found or is invalid.",
        )
    return _errors(error, uuid.uuid4().hex)


class GraphQLEndpoint:
    """Answers GraphQL requests from one served revision."""

    def __init__(self, source: RevisionSource) -> None:
        self.source = source
        self._documents: Lru[tuple[DocumentNode | None, list[GraphQLError]]] = Lru(DOCUMENTS)
        self._persisted: Lru[str] = Lru(PERSISTED_QUERIES)
        # The revision never changes: an answer stays true while it is served. Kept with
        # the cost it was sent with and the request id its errors name (if any), which a
        # later request's id replaces.
        self._answers: Lru[tuple[bytes, str, str | None]] = Lru(
            ANSWERS, lambda a: len(a[0]), ANSWER_BYTES
        )

    def answer(self, request: GraphQLRequest) -> Response:
        request_id = uuid.uuid4().hex
        try:
            params, query = self._request(request)
            key = (query, compact_json(params.variables), params.operation_name, request.host)
            cached = self._answers.get(key)
            if cached is not None:
                body, cost, named = cached
                if named is not None:  # 32 random hex digits: they occur nowhere else
                    body = body.replace(named.encode(), request_id.encode())
                return _answer(200, body, request_id, cost)
            response, errors = self._run(params, query, request.host, request_id)
            if errors != "unexpected":
                named = request_id if errors == "expected" else None
                self._answers.put(key, (response.body, response.headers[COST_HEADER], named))
            return response
        except RequestError as refusal:
            return _errors(refusal, request_id)

    def _request(self, request: GraphQLRequest) -> tuple[_Params, str]:
        """What the request asks, checked for where it goes and its size."""
        self._check_place(request.path)
        if request.method == "POST":
            limits.check_size(request.body_size, request.body_size_exact)
        params = _params(request)
        query = self._persisted_query(params)
        if request.method == "GET":
            limits.check_size(len(query.encode()))
        return params, query

    def _run(self, params: _Params, query: str, host: str, request_id: str) -> tuple[Response, str]:
        """The answer, and what errors it holds: "none"; "expected" ones, from the
        content (an unresolvable link, an unknown locale), which the next request would
        get too; "unexpected" ones (a bug of ours), which are not kept."""
        limits.check_nesting(query)
        limits.check_value_nesting(params.variables)
        revision = self.source.revision()  # SchemaGenerationError (422) if it has none
        schema = revision.served.schema
        document = self._document(query, schema)
        operation = get_operation_ast(document, params.operation_name)
        if operation is None:
            named = params.operation_name
            raise RequestError(
                400,
                "QUERY_OPERATION_NAME_MISMATCH",
                "Query cannot be executed. "
                + (
                    f"The operation name {named!r} does not name one operation of the document"
                    if named is not None
                    else "The document holds several operations: operationName must name one"
                ),
            )
        variables = _variables(schema, operation, params.variables)
        cost = limits.complexity(schema, document, operation, variables)
        if cost > limits.MAX_COMPLEXITY:
            raise limits.too_complex(cost)
        context = RequestContext(revision, host)
        try:
            result = execution.execute(
                schema, document, operation, variables, params.variables, context
            )
        finally:
            context.close()
        body: dict[str, Any] = {"data": result.data}
        errors = result.errors or []
        if errors:
            body["errors"] = with_request_id([_formatted(e) for e in errors], request_id)
        expected = all("contentful" in (error.extensions or {}) for error in errors)
        kind = "unexpected" if not expected else "expected" if errors else "none"
        return _answer(200, compact_json(body), request_id, str(cost)), kind

    def _check_place(self, path: str) -> None:
        match = PATH.match(path)
        if match is None:
            raise RequestError(404, "NOT_FOUND", "The resource could not be found.")
        space, environment = match.groups()
        content = self.source.content
        if space != content.space_id:
            raise RequestError(
                400,
                "UNKNOWN_SPACE",
                f"Query cannot be executed. The space '{space}' does not exist",
            )
        if environment is not None and environment != content.environment:
            raise RequestError(
                400,
                "UNKNOWN_ENVIRONMENT",
                f"Query cannot be executed. The environment '{environment}' does not exist",
            )

    def _persisted_query(self, params: _Params) -> str:
        """The query to run: the one sent (stored under its hash when the extensions
        name one), or the one stored under the hash sent alone."""
        persisted = params.extensions.get("persistedQuery")
        if not isinstance(persisted, dict) or not isinstance(persisted.get("sha256Hash"), str):
            if params.query is None or not params.query.strip():
                raise RequestError(
                    400,
                    "MISSING_QUERY",
                    "Query cannot be executed. The query is missing"
                    + ("" if params.query is None else " (it is empty)"),
                )
            return params.query
        digest = persisted["sha256Hash"]
        if params.query is None:
            stored = self._persisted.get(digest)
            if stored is None:
                raise RequestError(404, "PersistedQueryNotFound", "PersistedQueryNotFound")
            return stored
        if hashlib.sha256(params.query.encode()).hexdigest() != digest:
            raise RequestError(400, "PersistedQueryMismatch", "PersistedQueryMismatch")
        self._persisted.put(digest, params.query)
        return params.query

    def _document(self, query: str, schema: Any) -> DocumentNode:
        """The parsed and validated document (both kept for the next request)."""
        found = self._documents.get(query)
        if found is None:
            found = _parsed(query, schema)
            self._documents.put(query, found)
        document, errors = found
        if document is None:
            raise _Refusal(400, "INVALID_QUERY_FORMAT", errors)
        if any(isinstance(error, ValidationAbortedError) for error in errors):
            # graphql-core stops checking a document whose fields it would have to compare
            # too often (the same field asked for hundreds of times, say): unchecked, it is
            # not run. Contentful's answer to such a query is unverified.
            raise limits.too_many_to_check()
        if errors:
            raise _Refusal(400, limits.VALIDATION_FAILED, errors)
        return document


class _Refusal(RequestError):
    """A request refused for the GraphQL errors of its document (each one listed)."""

    def __init__(self, status: int, code: str, errors: list[GraphQLError]) -> None:
        super().__init__(status, code, errors[0].message if errors else code)
        self.graphql_errors = errors

    def errors(self) -> list[dict[str, Any]]:
        made = []
        for error in self.graphql_errors:
            formatted = dict(error.formatted)
            formatted["extensions"] = contentful(self.code)
            made.append(formatted)
        return made


# The work graphql-core may spend comparing a document's fields before it gives up
# (its own budget, 500,000, took 0.64 s for an 8 KB query of one sub-selection repeated
# 450 times, then refused; this one 40-65 ms). The three sites' 25 operations spend at
# most 18; a field repeated 80 times with a sub-selection, or 140 times without, passes.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 20_000


def _parsed(query: str, schema: Any) -> tuple[DocumentNode | None, list[GraphQLError]]:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        return None, [error]
    return document, list(validate(schema, document))


def _params(request: GraphQLRequest) -> _Params:
    """query, variables, operationName and extensions from the query string (GET) or
    the body (POST: JSON, or a form)."""
    if request.method == "POST":
        kind = request.content_type.split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded" and not request.body.lstrip().startswith(
            b"{"
        ):
            fields: dict[str, Any] = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        else:  # JSON; also sent as a form by `curl -d '{...}'` without a Content-Type
            what = "The request body"
            if kind and kind not in _READ_AS_JSON and not kind.endswith("+json"):
                what += (
                    f' (sent as {kind[:60]}; send {{"query": ...}} as application/json, or a form)'
                )
            fields = _json_object(request.body, "INVALID_QUERY_FORMAT", what)
    else:
        fields = dict(request.query)
    return _Params(
        query=_text(fields.get("query"), "query"),
        variables=_object(fields.get("variables"), "INVALID_VARIABLES_FORMAT", "variables"),
        operation_name=_text(fields.get("operationName"), "operationName") or None,
        extensions=_object(fields.get("extensions"), "INVALID_QUERY_FORMAT", "extensions"),
    )


def _text(value: Any, what: str) -> str | None:
    """A text field, or None when absent; anything but text (or null) is refused."""
    if value is None or isinstance(value, str):
        return value
    raise RequestError(
        400, "INVALID_QUERY_FORMAT", f"Query cannot be executed. {what} must be a string"
    )


def _object(value: Any, code: str, what: str) -> dict[str, Any]:
    """A JSON object given as one (POST JSON) or as text (GET, forms)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        return _json_object(value.encode(), code, what)
    if not isinstance(value, dict):
        raise RequestError(400, code, f"Query cannot be executed. {what} must be a JSON object")
    return value


# Content types a body is read as JSON under without a word (curl -d sends a form type).
_READ_AS_JSON = ("application/json", "application/x-www-form-urlencoded", "text/plain")


def _json_object(raw: bytes, code: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise RequestError(
            400, code, f"Query cannot be executed. {what} is not valid JSON"
        ) from None
    if not isinstance(value, dict):
        raise RequestError(400, code, f"Query cannot be executed. {what} must be a JSON object")
    return value


def _variables(schema: Any, operation: OperationDefinitionNode, given: dict[str, Any]) -> Any:
    found = get_variable_values(schema, operation.variable_definitions or (), given, max_errors=20)
    if isinstance(found, list):
        raise _Refusal(400, limits.VALIDATION_FAILED, found)
    return found


def _formatted(error: GraphQLError) -> dict[str, Any]:
    """An error of execution as sent; one from our own bug says only that it happened."""
    formatted = dict(error.formatted)
    if "contentful" not in (error.extensions or {}):
        formatted["message"] = "Query execution error. Internal error"
        formatted["extensions"] = contentful("INTERNAL_SERVER_ERROR")
    return formatted


def refusal(status: int, code: str, message: str) -> Response:
    """A request refused before it reached the endpoint (by the HTTP server), in the
    GraphQL API's shape."""
    return _errors(RequestError(status, code, message), uuid.uuid4().hex)


def _errors(error: RequestError, request_id: str) -> Response:
    body = compact_json({"errors": with_request_id(error.errors(), request_id)})
    headers = {"X-Contentful-Request-Id": request_id}
    return Response(error.status, body, headers, MEDIA_TYPE, error.code)


def _answer(status: int, body: bytes, request_id: str, cost: str) -> Response:
    headers = {"X-Contentful-Request-Id": request_id, COST_HEADER: cost}
    return Response(status, body, headers, MEDIA_TYPE, "graphql")
