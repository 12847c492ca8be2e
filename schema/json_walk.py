"""Walking decoded JSON (a request's variables, a whole request body) level by level, without
recursion: a client can nest JSON deeper than Python's recursion limit."""

from __future__ import annotations

import re
from collections.abc import Iterator


def json_levels(value: object) -> Iterator[list[object]]:
    """The values of a decoded JSON document, one level at a time: the document itself, then what
    its lists and objects hold, and so on. Each value is visited once."""
    items = [value]
    while items:
        yield items
        nested: list[object] = []
        for item in items:
            if isinstance(item, dict):
                nested.extend(item.values())
            elif isinstance(item, list):
                nested.extend(item)
        items = nested


def nests_deeper_than(value: object, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` deep in `value`; stops at that depth."""
    for depth, items in enumerate(json_levels(value)):
        if depth == limit:
            return any(isinstance(item, dict | list) for item in items)
    return False


# Decoded JSON holds a surrogate code point only where the text had a `\uD8xx`-style escape with
# no partner (a pair decodes to one character): no UTF-8 text can carry it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def holds_lone_surrogate(value: object) -> bool:
    """Whether any string of `value`, an object's key or a value, holds an unpaired surrogate."""
    for items in json_levels(value):
        for item in items:
            texts = item.keys() if isinstance(item, dict) else [item] if isinstance(item, str) else []
            if any(_SURROGATE.search(text) for text in texts if isinstance(text, str)):
                return True
    return False
