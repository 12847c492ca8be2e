"""The one place a mutation's outcome becomes its payload: a rejection fills `errors` and leaves the
payload's object fields empty; a result fills them and leaves `errors` empty."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hospes.services.rejections import Rejection

P = TypeVar("P")
T = TypeVar("T")


async def to_payload(
    payload: Callable[..., P],
    outcome: T | Rejection,
    *,
    when_rejected: Mapping[str, object] | None = None,
    **present: Callable[[T], Any],
) -> P:
    """`payload` answering `outcome`. Each keyword of `present` names a payload field and turns
    the result into its value (awaited if it returns an awaitable); on a rejection those fields are
    null, unless `when_rejected` gives another value (`ok: false`)."""
    if isinstance(outcome, Rejection):
        values: dict[str, object] = dict.fromkeys(present)
        values.update(when_rejected or {})
        return payload(**values, errors=outcome.errors)
    shown: dict[str, object] = {}
    for name, show in present.items():
        value = show(outcome)
        shown[name] = await value if inspect.isawaitable(value) else value
    return payload(**shown, errors=[])
