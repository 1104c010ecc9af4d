"""Bounds checked before anything runs (shared/GRAPHQL.md §1, §6): the query's size
(8 KB), its nesting (before parsing, and after fragments are expanded) and its
complexity: the number of entities it could return, at most 11000.

The cost rule, as Contentful documents it: a collection counts its `limit` (100 when
omitted or 0; an array field's size validation when lower) times the sizes of the
collections above it; a single link (or root entry) counts 1 per parent; `linkedFrom`
collections count as collections; a rich text field's `links` count what its link
nodes' size validations allow (1000 without them) per parent, and what is below them
that many times; `contentfulMetadata.tags` counts 1 per entity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values

from mirror.delivery.http import size_in_words
from mirror.delivery.query import MAX_LIMIT
from mirror.graphql.errors import RequestError

MAX_QUERY_BYTES = 8192
MAX_COMPLEXITY = 11000
MAX_NESTING = 64  # brackets in the text of a query, checked before parsing
MAX_DEPTH = 40  # fields within fields, fragments expanded
DEFAULT_LIMIT = 100
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def check_size(size: int, exact: bool = True) -> None:
    """Refuse a query of `size` bytes (not `exact`: more than `size` - 1, the rest unread)."""
    if size > MAX_QUERY_BYTES:
        said = size_in_words(size, exact)
        raise RequestError(
            400,
            "QUERY_TOO_BIG",
            "Query cannot be executed. The maximum allowed size for a query is "
            f"{MAX_QUERY_BYTES} bytes but it was {said}",
            {"maximumSize": MAX_QUERY_BYTES, "size": size},
        )


def check_nesting(query: str) -> None:
    """Refuse a query nested deeper than MAX_NESTING brackets before the (recursive)
    parser sees it; strings and comments are skipped."""
    depth = deepest = 0
    index, length = 0, len(query)
    while index < length:
        char = query[index]
        if char == "#":
            end = query.find("\n", index)
            index = length if end < 0 else end
        elif char == '"':
            index = _string_end(query, index)
        elif char in "{[(":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}])":
            depth -= 1
        index += 1
    if deepest > MAX_NESTING:
        raise _too_deep(MAX_NESTING, deepest)


def check_value_nesting(value: Any) -> None:
    """Refuse variables nested deeper than MAX_NESTING (filters are compiled recursively)."""
    level, deepest = [(value, 1)], 0
    while level:
        found, depth = level.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            raise _too_deep(MAX_NESTING, deepest)
        children = found.values() if isinstance(found, dict) else found
        if isinstance(found, (dict, list)):
            level += [(child, depth + 1) for child in children]


def _string_end(query: str, start: int) -> int:
    if query.startswith('"""', start):
        end = query.find('"""', start + 3)
        return len(query) if end < 0 else end + 2
    index = start + 1
    while index < len(query) and query[index] not in '"\n':
        index += 2 if query[index] == "\\" else 1
    return index


def _too_deep(maximum: int, depth: int) -> RequestError:
    return RequestError(
        400,
        "TOO_COMPLEX_QUERY",
        f"Query cannot be executed. The maximum allowed depth for a query is {maximum} but "
        f"it was {depth}.",
        {"maximumDepth": maximum, "depth": depth},
    )


def too_complex(cost: int) -> RequestError:
    return RequestError(
        400,
        "TOO_COMPLEX_QUERY",
        f"Query cannot be executed. The maximum allowed complexity for a query is "
        f"{MAX_COMPLEXITY} but it was {cost}. Simplify the query e.g. by setting lower limits "
        "for collections.",
        {"maximumCost": MAX_COMPLEXITY, "cost": cost},
    )


def too_many_to_check() -> RequestError:
    return RequestError(
        400,
        "TOO_COMPLEX_QUERY",
        "Query cannot be executed. It selects too many fields that must be compared with "
        "each other to be validated (the same field many times, say): ask for each field once.",
    )


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Any  # graphql-core's VariableValues
    deepest: int = 0
    # A selection set's cost per unit of multiplier, by (selection set, parent type,
    # depth): a fragment spread in many places is costed once, so that fragments that
    # spread each other twice over cost a walk as long as the text, not 2^n.
    costs: dict[tuple[int, int, int], int] = field(default_factory=dict)


def complexity(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Any,
) -> int:
    """The operation's cost (see the module's rule); raises RequestError for a query
    nested too deep or a `limit`/`skip` out of range. `variables` are coerced."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, variables)
    root = schema.query_type
    assert root is not None
    cost = _selections(walk, operation.selection_set, root, 1, 1)
    if walk.deepest > MAX_DEPTH:
        raise _too_deep(MAX_DEPTH, walk.deepest)
    return cost


def _fields(walk: _Walk, selections: SelectionSetNode, parent: Any) -> list[tuple[FieldNode, Any]]:
    """The fields of a selection set with fragments expanded, each with its parent type;
    a fragment spread twice in one selection set counts once, as the GraphQL
    specification's CollectFields merges it."""
    found: list[tuple[FieldNode, Any]] = []
    visited: set[str] = set()
    stack = [(iter(selections.selections), parent)]  # depth first, in document order
    while stack:
        selection = next(stack[-1][0], None)
        if selection is None:
            stack.pop()
            continue
        owner = stack[-1][1]
        if isinstance(selection, FieldNode):
            found.append((selection, owner))
            continue
        condition: NamedTypeNode | None
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = walk.fragments.get(name)
            if fragment is None or name in visited:
                continue
            visited.add(name)
            condition, inner = fragment.type_condition, fragment.selection_set
        else:
            assert isinstance(selection, InlineFragmentNode)
            condition, inner = selection.type_condition, selection.selection_set
        own = walk.schema.get_type(condition.name.value) if condition else owner
        stack.append((iter(inner.selections), own or owner))
    return found


def _selections(
    walk: _Walk, selections: SelectionSetNode, parent: Any, multiplier: int, depth: int
) -> int:
    key = (id(selections), id(parent), depth)
    unit = walk.costs.get(key)
    if unit is None:
        unit = walk.costs[key] = _unit_cost(walk, selections, parent, depth)
    return multiplier * unit


def _unit_cost(walk: _Walk, selections: SelectionSetNode, parent: Any, depth: int) -> int:
    """What a selection set costs once (the cost rule is linear in the multiplier)."""
    walk.deepest = max(walk.deepest, depth)
    if depth > MAX_DEPTH:
        return 0
    cost = 0
    for node, owner in _fields(walk, selections, parent):
        definition = getattr(owner, "fields", {}).get(node.name.value)
        if definition is None:  # __typename, introspection, or a field of a union's member
            continue
        below = 1
        rule = (definition.extensions or {}).get("cost")
        if rule:
            size = _size(rule, definition, node, walk.variables)
            cost += size
            below = size if rule[0] in ("collection", "links") else 1
        if node.selection_set is not None:
            cost += _selections(
                walk, node.selection_set, get_named_type(definition.type), below, depth + 1
            )
    return cost


def _size(rule: tuple[Any, ...], field: Any, node: FieldNode, variables: Any) -> int:
    if rule[0] == "link":
        return 1
    if rule[0] == "links":
        return int(rule[1])
    try:
        arguments = get_argument_values(field, node, variables)
    except GraphQLError as error:
        raise RequestError(400, VALIDATION_FAILED, error.message) from None
    limit, skip = arguments.get("limit"), arguments.get("skip")
    if limit is not None and not 0 <= limit <= MAX_LIMIT:
        raise _argument(node, "limit", f"between 0 and {MAX_LIMIT}")
    if skip is not None and skip < 0:
        raise _argument(node, "skip", "0 or more")
    size = DEFAULT_LIMIT if not limit else int(limit)
    if rule[1] is not None:
        size = min(size, int(rule[1]))
    return size


def _argument(node: FieldNode, name: str, allowed: str) -> RequestError:
    return RequestError(
        400,
        VALIDATION_FAILED,
        f"Query cannot be executed. The {name} argument of {node.name.value} must be {allowed}",
    )
