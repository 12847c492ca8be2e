"""Schemathesis checks for `.ci/fuzz` (loaded through SCHEMATHESIS_HOOKS).

Schemathesis' own `not_a_server_error` also counts every GraphQL error that has a `path` as a server
error, and here UNAUTHENTICATED, FORBIDDEN, NOT_FOUND and RATE_LIMITED are correct answers. So the
run selects only these checks: a finding is an HTTP 5xx or an error the server itself labels
INTERNAL (an exception nobody mapped to a clean answer).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, cast

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS, get_extra_scalar_strategies
from schemathesis.specs.graphql.schemas import GraphQLOperationDefinition

# Money is a `Decimal` string. Plausible amounts, and what a parser of decimals must survive:
# NaN, ±Infinity, huge exponents, long digit strings, garbage text, and plain numbers.
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2).map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,40})?(E[+-]?[0-9]{1,6})?", fullmatch=True),
        st.text(max_size=20),
    ).map(nodes.String)
    | st.integers().map(nodes.Int),
)


def _register_unknown_scalars(sdl_path: str) -> None:
    """Any other custom scalar of the schema (e.g. one added since these hooks were written) is fuzzed
    rather than stopping the run with 'Unknown GraphQL Scalar': with random text and numbers, and
    with fuzz_config.py's valid and hostile values, which its dictionaries (String, ID and Int
    only) cannot put in a custom scalar's place."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fuzz_config

    listed = [value for values in fuzz_config.GATES.values() for value in values] + fuzz_config.HOSTILE_TEXT
    strategy = st.one_of(st.sampled_from(listed), st.text()).map(nodes.String) | st.integers().map(nodes.Int)
    known = set(CUSTOM_SCALARS) | set(get_extra_scalar_strategies())
    for name in re.findall(r"^scalar (\w+)", Path(sdl_path).read_text(encoding="utf-8"), re.MULTILINE):
        if name not in known:
            schemathesis.graphql.scalar(name, strategy)


if os.environ.get("HOSPES_FUZZ_SCHEMA"):
    _register_unknown_scalars(os.environ["HOSPES_FUZZ_SCHEMA"])


def _cursor_ordering(cursor: str) -> str | None:
    """The ordering a cursor names (`[ordering, value, pk]`, base64url JSON), if it names one."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if isinstance(decoded, list) and decoded and isinstance(decoded[0], str):
        return decoded[0] if re.fullmatch(r"[a-z_]+", decoded[0]) else None
    return None


class _MatchOrdering(graphql.Visitor):
    """Gives the root field `field_name` the `orderBy` its forged `after` cursor names."""

    def __init__(self, field_name: str) -> None:
        super().__init__()
        self.field_name = field_name
        self.depth = 0

    def enter_selection_set(self, *_: Any) -> None:
        self.depth += 1

    def leave_selection_set(self, *_: Any) -> None:
        self.depth -= 1

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> graphql.FieldNode | None:
        if self.depth != 1 or node.name.value != self.field_name:
            return None
        arguments = {argument.name.value: argument for argument in node.arguments or ()}
        after = arguments.get("after")
        if after is None or not isinstance(after.value, graphql.StringValueNode):
            return None
        ordering = _cursor_ordering(after.value.value)
        if ordering is None:
            return None
        arguments["orderBy"] = graphql.ArgumentNode(
            name=graphql.NameNode(value="orderBy"),
            value=graphql.ObjectValueNode(
                fields=(
                    graphql.ObjectFieldNode(
                        name=graphql.NameNode(value="field"),
                        value=graphql.EnumValueNode(value=ordering.upper()),
                    ),
                )
            ),
        )
        return graphql.FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=tuple(arguments.values()),
            directives=node.directives,
            selection_set=node.selection_set,
        )


@schemathesis.hook
def map_case(ctx: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A cursor decodes only under the ordering it names, and a forged one (fuzz_config.py) is
    otherwise refused as "another ordering" before its value is read. An attacker sends the
    matching `orderBy`; so does this."""
    if ctx.operation is None or not isinstance(case.body, str) or "after" not in case.body:
        return case
    definition = cast(GraphQLOperationDefinition, ctx.operation.definition)
    if "orderBy" not in definition.raw.args:
        return case
    try:
        document = graphql.parse(case.body)
    except graphql.GraphQLError:
        return case
    changed = graphql.visit(document, _MatchOrdering(definition.field_name))
    if changed is not document:
        case.body = graphql.print_ast(changed)
    return case


def _errors(response: schemathesis.Response) -> list[dict[str, Any]]:
    """The GraphQL `errors` of a JSON response, or none for anything else."""
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = payload.get("errors") if isinstance(payload, dict) else None
    return [error for error in errors or [] if isinstance(error, dict)]


def _codes(response: schemathesis.Response) -> list[str]:
    codes: list[str] = []
    for error in _errors(response):
        extensions = error.get("extensions")
        if isinstance(extensions, dict) and isinstance(extensions.get("code"), str):
            codes.append(extensions["code"])
    return codes


@schemathesis.check
def hospes_no_server_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """No HTTP 5xx, whatever the request."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}; codes {_codes(response) or 'none'}")


@schemathesis.check
def hospes_no_internal_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """No GraphQL error with `extensions.code == "INTERNAL"`: bad input is BAD_USER_INPUT or a
    payload error, never an unhandled exception. The message leaves out the request id so that
    schemathesis groups the cases of one place; `.ci/fuzz` lists the exceptions from the log."""
    for error in _errors(response):
        extensions = error.get("extensions")
        if isinstance(extensions, dict) and extensions.get("code") == "INTERNAL":
            path = ".".join(str(part) for part in error.get("path") or []) or "(no path)"
            raise AssertionError(f"INTERNAL at {path}: {error.get('message')}")


@schemathesis.check
def hospes_staff_session_alive(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A request sent with the staff session is never UNAUTHENTICATED: if it were, an operation
    ended the session mid-run and every later case would test only the refusal. Exclude that
    operation from the staff pass in `.ci/fuzz`."""
    if "Authorization" in response.request.headers and "UNAUTHENTICATED" in _codes(response):
        raise AssertionError("the staff session ended mid-run; exclude the operation that ended it")
