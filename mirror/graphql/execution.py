"""graphql-core's executor with a short way for leaf fields.

An answer of 100 entries has about 1300 fields, most of them scalars: graphql-core
spends more on each (its resolve info, its arguments coerced again, completion through
the general path) than the resolver does. `LeafExecutor` resolves a scalar or enum
field whose resolver reads nothing of its info but the context (marked with
`reads_context`, or graphql-core's default resolver) with the arguments coerced once
per field of the query and one resolve info per field of the query, and coerces the
value itself. Anything else, and anything unusual on the way (an error, a null for a
non-null field, a value the scalar refuses), goes through graphql-core's own path, so
errors and their paths are exactly graphql-core's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution import Executor, default_field_resolver
from graphql.execution.values import get_argument_values

F = TypeVar("F", bound=Callable[..., Any])
_READS_CONTEXT = "_mirror_reads_context"


def reads_context(resolver: F) -> F:
    """Mark a leaf resolver that reads only `info.context` of its info (never the path
    or the field nodes): LeafExecutor may pass it the info of an earlier position."""
    setattr(resolver, _READS_CONTEXT, True)
    return resolver


class _Leaf:
    """How one field of the query (on one parent type) is resolved the short way."""

    __slots__ = ("arguments", "info", "non_null", "resolve", "scalar")

    def __init__(
        self,
        resolve: Callable[..., Any] | None,
        info: GraphQLResolveInfo[Any],
        arguments: dict[str, Any],
        scalar: GraphQLLeafType,
        non_null: bool,
    ) -> None:
        self.resolve = resolve  # None: graphql-core's default resolver
        self.info = info
        self.arguments = arguments
        self.scalar = scalar
        self.non_null = non_null


class LeafExecutor(Executor[Any]):
    """An Executor (no @defer or @stream: the schema has neither) with leaf fields
    resolved the short way; made per request, so what it keeps is that request's."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        leaves: dict[tuple[str, int], _Leaf | None] = self.__dict__.setdefault("_leaves", {})
        key = (parent_type.name, id(field_details_list[0].node))
        leaf = leaves.get(key, Undefined)
        if leaf is Undefined:
            leaf = leaves[key] = self._leaf(parent_type, field_details_list, path)
        if leaf is not None:
            value = self._leaf_value(leaf, source)
            if value is not Undefined:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _leaf_value(self, leaf: _Leaf, source: Any) -> Any:
        """The completed value, or Undefined to take graphql-core's path."""
        try:
            if leaf.resolve is None:
                name = leaf.info.field_name
                value = (
                    source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
                )
                if callable(value):
                    return Undefined
            else:
                value = leaf.resolve(source, leaf.info, **leaf.arguments)
            if value is None:
                return Undefined if leaf.non_null else None
            if isinstance(value, Exception):
                return Undefined
            coerced = leaf.scalar.coerce_output_value(value)
        except Exception:  # graphql-core's path raises it again, and words it
            return Undefined
        return Undefined if coerced is None else coerced

    def _leaf(self, parent_type: GraphQLObjectType, field_details_list: Any, path: Any) -> Any:
        """The short way for this field of the query, or None if it must take the long."""
        details = field_details_list[0]
        field = self.schema.get_field(parent_type, details.node.name.value)
        if field is None or details.fragment_variable_values is not None:
            return None
        if self.middleware_manager is not None:
            return None
        non_null = isinstance(field.type, GraphQLNonNull)
        scalar = get_nullable_type(field.type)
        if not is_leaf_type(scalar):
            return None
        resolve = field.resolve
        if resolve is default_field_resolver or (
            resolve is None and self.field_resolver is default_field_resolver
        ):
            resolve = None
        elif resolve is None or not getattr(resolve, _READS_CONTEXT, False):
            return None
        try:
            arguments = get_argument_values(
                field, details.node, self.variable_values, None, self.hide_suggestions
            )
        except Exception:
            return None
        nodes = [each.node for each in field_details_list]
        info = self.build_resolve_info(field, nodes, parent_type, path)
        return _Leaf(resolve, info, arguments, scalar, non_null)
