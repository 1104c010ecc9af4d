"""A short executor for most answers, and graphql-core's for the rest.

An answer of 100 entries has a few thousand fields. graphql-core completes each through
its general path (a resolve info, the arguments coerced again, a path, the checks for
streams and deferrals): most of an answer's time went there, not to the resolvers.
`execute_plainly` runs a validated query operation with the same semantics as the
GraphQL specification's ExecuteQuery, planned once per field of the query and object
type rather than once per position: which fields each selection set collects (aliases,
fragments, type conditions, @skip and @include), each field's arguments coerced once,
and one resolve info per field of the query.

Field errors are its own, as graphql-core makes them: an error a resolver raises or
returns, or a null in a non-null position, is located at its position (the path from
a static one per field of the query, with the list indices of the moment) and
recorded at the nearest position that may be null, which becomes null; they are
recorded in the order graphql-core records them. That is what a space's links to
unpublished entries cost (UNRESOLVABLE_LINK), and it costs no second execution.
On what graphql-core would report otherwise (a value its scalar refuses, an abstract
type that resolves to a type it does not hold, arguments it cannot coerce) it gives
up, and `execute` runs the whole operation again with graphql-core, whose answer is
then the one sent. Resolvers are pure reads of the served commit and the request's
caches, so running twice changes nothing but time. Introspection (`__schema`,
`__type`) and operations other than queries go to graphql-core directly.

Resolvers must read nothing of their resolve info but `context` and `field_nodes` (the
same for every position of a field of the query): the info they get is shared by those
positions, and its `path` is that of the first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from math import isfinite
from typing import Any, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLError,
    GraphQLFloat,
    GraphQLID,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
    located_error,
    type_from_ast,
)
from graphql import (
    execute as graphql_execute,
)
from graphql.execution import VariableValues, get_argument_values, get_directive_values
from graphql.pyutils import Path

Complete = Callable[[Any], Any]
# The built-in scalars send a value of these Python types as it is (a float if finite);
# Int checks a range, so it goes through its coercion.
_PLAIN_SCALARS: dict[str, type] = {"String": str, "Float": float, "Boolean": bool, "ID": str}
_BUILT_IN = (GraphQLString, GraphQLFloat, GraphQLBoolean, GraphQLID)
# A field's position in the answer, but for list indices (None: the index of the
# moment in the list being completed there).
Template = tuple[str | None, ...]


class _GiveUp(Exception):
    """The answer would hold an error that graphql-core must make."""


class _Failed(Exception):
    """A located error on its way up from a non-null position to the nearest one that
    may be null."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


def execute(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    raw_variables: dict[str, Any],
    context: Any,
) -> ExecutionResult:
    """The answer to `operation` of a validated `document`, with `variables` coerced
    (`raw_variables`: as sent, for graphql-core)."""
    answer = execute_plainly(schema, document, operation, variables, context)
    if answer is not None:
        return answer
    name = operation.name.value if operation.name else None
    result = graphql_execute(
        schema,
        document,
        context_value=context,
        variable_values=raw_variables,
        operation_name=name,
        is_awaitable=_never,  # every resolver here answers at once
    )
    assert isinstance(result, ExecutionResult)
    _drop_frames(result.errors)
    return result


def _drop_frames(errors: list[GraphQLError] | None) -> None:
    """A traceback holds the frames it passed through, and they the request's items:
    the errors are sent as text, so the frames may go now, not at a collection."""
    for error in errors or ():
        error.__traceback__ = None
        if error.original_error is not None:
            error.original_error.__traceback__ = None
            error.original_error.__context__ = None


def execute_plainly(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    context: Any,
) -> ExecutionResult | None:
    """The answer, unless it is introspection or holds an error graphql-core must make:
    then None."""
    if operation.operation != OperationType.QUERY or schema.query_type is None:
        return None
    plain = _Plain(schema, document, operation, variables, context)
    try:
        data: dict[str, Any] | None = plain.run(schema.query_type)
    except _GiveUp:
        return None
    except _Failed as failed:  # a non-null field of the query: no data at all
        plain.errors.append(failed.error)
        data = None
    finally:
        # The plans' closures refer to the execution, which refers to the request's
        # context and every item it read: without this cycle broken, those would wait
        # for the garbage collector instead of going when the answer is sent.
        plain._plans.clear()
        _drop_frames(plain.errors)
    return ExecutionResult(data, plain.errors or None)


def _never(_value: Any) -> TypeGuard[Awaitable[Any]]:
    return False


def _constant(value: Any) -> Complete:
    return lambda _source: value


def _producer(
    name: str,
    resolve: Callable[..., Any] | None,
    info: GraphQLResolveInfo[Any],
    arguments: dict[str, Any],
    complete: Complete,
    fail: Complete,
) -> Complete:
    """How one field's value is made from its object: resolved (by `resolve`, or read as
    graphql-core's default resolver reads it), then completed; an error on the way is
    `fail`'s to record (the value is then null) or to send up."""
    if resolve is None:

        def read(source: Any) -> Any:
            if type(source) is dict or isinstance(source, Mapping):
                value = source.get(name)
            else:
                value = getattr(source, name, None)
            if callable(value):
                raise _GiveUp
            try:
                return complete(value)
            except _GiveUp:
                raise
            except Exception as error:
                return fail(error)

        return read
    if not arguments:

        def call(source: Any) -> Any:
            try:
                return complete(resolve(source, info))
            except _GiveUp:
                raise
            except Exception as error:
                return fail(error)

        return call

    def call_with(source: Any) -> Any:
        try:
            return complete(resolve(source, info, **arguments))
        except _GiveUp:
            raise
        except Exception as error:
            return fail(error)

    return call_with


class _Plain:
    """One execution of a query operation, planned as it goes."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        context: Any,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.variables = variables
        self.context = context
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        # (object type name, id of the field nodes) -> plan; the node lists are kept
        # alive by the plans that hold them, so their ids stay theirs.
        self._plans: dict[tuple[str, int], list[tuple[str, Complete]]] = {}
        self.errors: list[GraphQLError] = []
        # The index of the moment in each list being completed, outermost first.
        self._indices: list[int] = []

    def run(self, query: GraphQLObjectType) -> dict[str, Any]:
        root = self._collect(query, [self.operation.selection_set])
        if any(nodes[0].name.value in ("__schema", "__type") for nodes in root.values()):
            raise _GiveUp  # introspection: graphql-core's own
        nodes = [self.operation]  # stands for the root's selection set
        self._plans[(query.name, id(nodes))] = self._plan(query, root, ())
        return self._object(query, nodes, None, ())

    # -- running -----------------------------------------------------------------------

    def _object(
        self, type_: GraphQLObjectType, nodes: list[Any], source: Any, template: Template
    ) -> dict[str, Any]:
        plan = self._plans.get((type_.name, id(nodes)))
        if plan is None:
            plan = self._plans[(type_.name, id(nodes))] = self._subplan(type_, nodes, template)
        return {key: produce(source) for key, produce in plan}

    def _path(self, template: Template) -> list[str | int]:
        """The position of the moment of a field or list item at `template`."""
        indices = iter(self._indices)
        return [next(indices) if part is None else part for part in template]

    def _failure(self, nodes: list[FieldNode], template: Template, nullable: bool) -> Complete:
        """What an error at a position does (graphql-core's handleFieldError): located
        there unless it already is, then recorded with null in its place, or sent up
        if the position may not be null."""

        def fail(error: Any) -> None:
            if isinstance(error, _Failed):
                located = error.error
            else:
                located = located_error(error, nodes, self._path(template))
            if not nullable:
                raise _Failed(located) from None
            self.errors.append(located)
            return None

        return fail

    # -- planning ----------------------------------------------------------------------

    def _subplan(
        self, type_: GraphQLObjectType, nodes: list[FieldNode], template: Template
    ) -> list[tuple[str, Complete]]:
        sets = [node.selection_set for node in nodes if node.selection_set is not None]
        return self._plan(type_, self._collect(type_, sets), template)

    def _plan(
        self, type_: GraphQLObjectType, grouped: dict[str, list[FieldNode]], template: Template
    ) -> list[tuple[str, Complete]]:
        """Each response key, and how its value is made from the object."""
        if type_.is_type_of is not None:
            raise _GiveUp  # none here has one
        path = None
        for part in template:  # that of the first position: resolvers do not read it
            path = Path(path, 0 if part is None else part, None)
        plan = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if name == "__typename":
                plan.append((key, _constant(type_.name)))
                continue
            definition = type_.fields.get(name)
            if definition is None:
                raise _GiveUp  # validation would have refused it
            info = GraphQLResolveInfo(
                field_name=name,
                field_nodes=nodes,
                return_type=definition.type,
                parent_type=type_,
                path=Path(path, key, type_.name),
                schema=self.schema,
                fragments=self.fragments,
                root_value=None,
                operation=self.operation,
                variable_values=self.variables,
                context=self.context,
                is_awaitable=_never,
                abort_signal=None,
                async_helpers=None,  # type: ignore[arg-type]  # nothing here is async
            )
            at = (*template, key)
            complete = self._completion(definition.type, nodes, info, at)
            fail = self._failure(nodes, at, not isinstance(definition.type, GraphQLNonNull))
            try:
                arguments = get_argument_values(definition, nodes[0], self.variables)
            except Exception:  # graphql-core reports it at the field
                raise _GiveUp from None
            plan.append((key, _producer(name, definition.resolve, info, arguments, complete, fail)))
        return plan

    def _completion(
        self,
        type_: GraphQLOutputType,
        nodes: list[FieldNode],
        info: GraphQLResolveInfo[Any],
        template: Template,
    ) -> Complete:
        """How a resolved value of `type_` at `template` becomes the answer's (as
        graphql-core's completeValue: an error raised, or given up on where graphql-core
        would word one that is not raised here)."""
        if isinstance(type_, GraphQLNonNull):
            inner = self._completion(type_.of_type, nodes, info, template)
            field = f"{info.parent_type}.{info.field_name}"
            refusal = f"Cannot return null for non-nullable field {field}."

            def required(value: Any) -> Any:
                completed = inner(value)
                if completed is None:
                    raise TypeError(refusal)
                return completed

            return required
        if isinstance(type_, GraphQLList):
            at = (*template, None)
            each = self._completion(type_.of_type, nodes, info, at)
            fail = self._failure(nodes, at, not isinstance(type_.of_type, GraphQLNonNull))
            indices = self._indices

            def listed(value: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, Exception):
                    raise value
                if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                    raise _GiveUp
                completed = []
                indices.append(0)
                try:
                    for index, item in enumerate(value):
                        indices[-1] = index
                        try:
                            completed.append(each(item))
                        except _GiveUp:
                            raise
                        except Exception as error:
                            completed.append(fail(error))
                finally:
                    indices.pop()
                return completed

            return listed
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value

            def leaf(value: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, Exception):
                    raise value
                try:
                    coerced = coerce(value)
                except Exception:
                    raise _GiveUp from None
                if coerced is None:
                    raise _GiveUp
                return coerced

            plain = _PLAIN_SCALARS.get(type_.name) if type_ in _BUILT_IN else None
            if plain is None:
                return leaf

            def scalar(value: Any) -> Any:
                # What a built-in scalar sends as it is; anything else is coerced.
                if type(value) is plain and (plain is not float or isfinite(cast(float, value))):
                    return value
                return leaf(value)

            return scalar
        if isinstance(type_, GraphQLObjectType):

            def concrete(value: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, Exception):
                    raise value
                return self._object(type_, nodes, value, template)

            return concrete
        assert is_abstract_type(type_)
        abstract: GraphQLAbstractType = type_
        resolve_type = abstract.resolve_type
        if resolve_type is None:
            raise _GiveUp

        def resolved(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, Exception):
                raise value
            try:
                name = resolve_type(value, info, abstract)
            except Exception:
                raise _GiveUp from None
            runtime = self.schema.get_type(name) if isinstance(name, str) else None
            if not isinstance(runtime, GraphQLObjectType):
                raise _GiveUp
            if not self.schema.is_sub_type(abstract, runtime):
                raise _GiveUp
            return self._object(runtime, nodes, value, template)

        return resolved

    def _collect(
        self, type_: GraphQLObjectType, sets: list[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The fields the selection sets select on an object of `type_`, by response
        key in the order first met (the specification's CollectFields)."""
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        # Depth first, in document order; a stack, as a recursive closure would be a
        # reference cycle left to the garbage collector.
        stack = [iter(selection_set.selections) for selection_set in reversed(sets)]
        while stack:
            selection = next(stack[-1], None)
            if selection is None:
                stack.pop()
            elif not self._included(selection):
                continue
            elif isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection, type_):
                    stack.append(iter(selection.selection_set.selections))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is not None and self._applies(fragment, type_):
                    stack.append(iter(fragment.selection_set.selections))
        return grouped

    def _included(self, node: Any) -> bool:
        if not node.directives:
            return True
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
            include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        except Exception:  # graphql-core reports it
            raise _GiveUp from None
        if skip and skip.get("if") is True:
            return False
        return not (include and include.get("if") is False)

    def _applies(
        self, fragment: InlineFragmentNode | FragmentDefinitionNode, type_: GraphQLObjectType
    ) -> bool:
        if fragment.type_condition is None:
            return True
        condition = type_from_ast(self.schema, fragment.type_condition)
        if condition is type_:
            return True
        if is_abstract_type(condition):
            return self.schema.is_sub_type(condition, type_)
        return False
