"""Which failures of PostgreSQL and Redis are not bugs, decided once for every caller: a statement
cancelled by its timeout (`TIMEOUT`), and a dependency that cannot be reached or answered in time
(`UNAVAILABLE`: refused or lost connections, a pool with no free connection). Both may arrive
wrapped, by SQLAlchemy or as the cause of another error."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import psycopg.errors
import redis.exceptions
import sqlalchemy.exc

# SQLSTATEs of a server that is going away or not taking connections; class 08 is added below.
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300", "53400"})


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, what it wraps (SQLAlchemy's `orig`) and its explicit causes, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__]


def is_timeout(error: BaseException) -> bool:
    """Whether `error` is (or stems from) a statement cancelled by PostgreSQL: its statement
    timeout, or its lock timeout (which also bounds lock waits at COMMIT)."""
    return any(
        isinstance(each, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable)
        for each in _causes(error)
    )


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError):
        return True  # the pool had no free connection in time, or gave up reconnecting
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    if isinstance(error, psycopg.InterfaceError):
        return True  # "the connection is closed"
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        # No SQLSTATE: the client itself failed to connect or lost the connection.
        return state is None or state.startswith("08") or state in _UNAVAILABLE_STATES
    return False


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` is (or stems from) PostgreSQL or Redis being unreachable; never a timeout,
    which is an answer of a live server, nor a constraint or other statement error."""
    return not is_timeout(error) and any(map(_unreachable, _causes(error)))
