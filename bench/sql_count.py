"""What the app's engine sends per request, counted on SQLAlchemy's engine and pool events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event


@dataclass
class SqlCount:
    statements: int = 0
    checkouts: int = 0  # pre-ping round trips: one per checkout when the pool pings (pool_pre_ping)
    transactions: int = 0
    ends: int = 0  # COMMIT / ROLLBACK
    texts: list[str] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        # psycopg sends BEGIN on its own before a transaction's first statement.
        return self.statements + self.checkouts + self.transactions + self.ends


class SqlCounter:
    """Counts what the app's engine sends, through SQLAlchemy's engine and pool events."""

    def __init__(self, engine: sa.Engine) -> None:
        self.current = SqlCount()
        # The API's pool does not ping (a dead connection is met by a retry instead): no round trip.
        self._pings = bool(getattr(engine.pool, "_pre_ping", False))
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        event.listen(engine.pool, "checkout", self._checkout)

    def reset(self) -> SqlCount:
        done, self.current = self.current, SqlCount()
        return done

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.current.statements += 1
        self.current.texts.append(" ".join(statement.split()))

    def _begin(self, _conn: Any) -> None:
        self.current.transactions += 1

    def _end(self, _conn: Any) -> None:
        self.current.ends += 1

    def _checkout(self, *_args: Any) -> None:
        self.current.checkouts += int(self._pings)


def typical(counts: Sequence[SqlCount]) -> SqlCount:
    # The most common shape: a request that refreshed the tenant-registry cache is the exception.
    common, _ = Counter((c.statements, c.round_trips) for c in counts).most_common(1)[0]
    return next(c for c in counts if (c.statements, c.round_trips) == common)
