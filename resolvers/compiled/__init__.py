"""The read compiler: a query operation answered by ONE SQL statement that builds its JSON in
PostgreSQL, where every selected field is one the compiler knows (`fields.py`); any other
operation, and any refusal or bad argument, goes to the resolvers unchanged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from hospes.resolvers.compiled.answer import answer
from hospes.resolvers.compiled.plan import Planner, Unsupported
from hospes.resolvers.compiled.statement import Template

log = logging.getLogger("hospes.read_compiler")


class ReadCompiler:
    """The switch (`enabled`, from HOSPES_READ_COMPILER) and what it did: operations answered by
    one statement (`compiled`) and handed to the resolvers (`resolved`)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.compiled = 0
        self.resolved = 0
        # Statements compiled once per shape of selection; they hold no data, only SQL.
        self.templates: dict[Hashable, Template] = {}

    async def execute(
        self,
        executor: Any,
        root_type: Any,
        grouped: dict[str, Any],
        resolve: Callable[[], Any],
    ) -> dict[str, Any]:
        """The root fields' data: compiled if every selected field can be, else from `resolve()`."""
        try:
            plan = await Planner(executor).plan(root_type, grouped)
        except Unsupported as reason:
            log.debug("resolvers answer this operation: %s", reason)
            self.resolved += 1
            result = resolve()
            if isinstance(result, Awaitable):
                result = await result
            data: dict[str, Any] = result
            return data
        self.compiled += 1
        return await answer(executor, plan, self.templates)
