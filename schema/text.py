"""Text PostgreSQL can store: no NUL character and no unpaired UTF-16 surrogate (JSON can carry
both, `\\u0000` and `\\ud800`; PostgreSQL refuses them). One rule for every text a request sends, in
the document's string literals and in its variables (however deeply nested), checked before
execution so a mutation is never half written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule

from hospes.schema.errors import ErrorCode
from hospes.schema.json_walk import json_levels

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text may not contain NUL characters or unpaired surrogates."


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def _bad_input(message: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.BAD_USER_INPUT.value})


class StorableTextRule(ValidationRule):
    """Refuses string literals the database could not store."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if not is_storable(node.value):
            self.report_error(_bad_input(MESSAGE, node))


def _holds_unstorable_text(value: object) -> bool:
    # One search per level over its strings joined: a surrogate in a Python string is always an
    # unpaired one (json decodes a pair into one character), so joining cannot create or hide one.
    return any(
        not is_storable("".join(item for item in items if isinstance(item, str)))
        for items in json_levels(value)
    )


def variable_text_errors(variables: Mapping[str, object] | None) -> list[GraphQLError]:
    """An error for each variable holding text the database could not store."""
    return [
        _bad_input(f"Variable '${name}': {MESSAGE}")
        for name, value in (variables or {}).items()
        if _holds_unstorable_text(value)
    ]
