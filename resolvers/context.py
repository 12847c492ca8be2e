"""The per-request GraphQL context: who is calling, one tenant-bound database session, and the
request's DataLoaders. The request owns the transaction; each mutation runs in a savepoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlmodel import SQLModel
from starlette.requests import HTTPConnection

from hospes.resolvers.loaders import Loaders
from hospes.schema.errors import ApiError, ErrorCode, forbidden, unauthenticated
from hospes.services.rejections import Rejection
from hospes.tasks import outbox
from hospes.tasks.relay import relay
from hospes.tenancy.crypto import TenantKeys, versions_in
from hospes.tenancy.database import died_at_begin
from hospes.tenancy.encrypted_columns import EncryptedColumn
from hospes.tenancy.principal import AuthResult, Principal, PrincipalKind
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.resources import Resources

log = logging.getLogger("hospes.context")
T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


class Context:
    def __init__(
        self, *, request: HTTPConnection, resources: Resources, auth: AuthResult, request_id: str
    ) -> None:
        self.request = request
        self.resources = resources
        self.auth = auth
        self.request_id = request_id
        self._session: AsyncSession | None = None
        self._wrote = False
        # One AsyncSession allows one statement at a time; DataLoaders of sibling fields run concurrently.
        self._lock = asyncio.Lock()

    @property
    def lock(self) -> asyncio.Lock:
        """Held around any direct use of `session()`: it runs one statement at a time."""
        return self._lock

    @property
    def wrote(self) -> bool:
        """Whether a mutation's work has been kept in the request's transaction so far."""
        return self._wrote

    @property
    def principal(self) -> Principal | None:
        return self.auth.principal

    def raise_auth_failure(self) -> None:
        """Raise the error for a credential that was sent but did not work, if there was one."""
        failure = self.auth.failure
        if failure is None:
            return
        extra = {"retryAfter": failure.retry_after} if failure.retry_after is not None else {}
        raise ApiError(ErrorCode(failure.code.value), failure.message, **extra)

    def require(self, *kinds: PrincipalKind) -> Principal:
        """The principal, if it is of one of `kinds`; else the matching top-level error."""
        self.raise_auth_failure()
        principal = self.auth.principal
        if principal is None or (
            principal.kind is PrincipalKind.PUBLIC and PrincipalKind.PUBLIC not in kinds
        ):
            raise unauthenticated()
        if principal.kind not in kinds:
            raise forbidden()
        return principal

    @property
    def tenant(self) -> TenantRef:
        principal = self.auth.principal
        if principal is None:
            raise unauthenticated()
        return principal.tenant

    def session(self) -> AsyncSession:
        """The request's session, bound to the caller's tenant; opened on first use."""
        if self._session is None:
            self._session = self.resources.tenant_sessions.open(self.tenant.schema_name)
        return self._session

    @property
    def connection_died_unused(self) -> bool:
        """Whether the request's transaction failed at its very first statement because its pooled
        connection was dead: none of its statements ran, so it may be started again."""
        return self._session is not None and died_at_begin(self._session)

    async def restart(self) -> None:
        """Forget the failed attempt (its session and the DataLoaders' cached answers) so the
        request can run again on a fresh connection; only after `connection_died_unused`."""
        await self.finish(commit=False)
        self._wrote = False
        self.__dict__.pop("loaders", None)

    @cached_property
    def loaders(self) -> Loaders:
        """The request's DataLoaders, created on first use; each one on first use by its name."""
        return Loaders(self)

    async def scalars(self, statement: Executable) -> Sequence[Any]:
        async with self._lock:
            return (await self.session().scalars(statement)).all()

    async def rows(self, statement: Executable) -> Sequence[Any]:
        async with self._lock:
            return (await self.session().execute(statement)).all()

    async def scalar(self, statement: Executable) -> Any:
        async with self._lock:
            return await self.session().scalar(statement)

    async def compiled_scalar(self, sql: str, params: dict[str, Any]) -> Any:
        """The one value of SQL compiled ahead (the driver's paramstyle, every value a parameter),
        run as it is in the request's tenant-bound transaction."""
        async with self._lock:
            connection = await self.session().connection()
            return (await connection.exec_driver_sql(sql, params)).scalar()

    async def keys(self, *ciphertexts: bytes | None) -> TenantKeys:
        """The caller's tenant keys (cached per process), able to open `ciphertexts`."""
        async with self._lock:
            return await self.keys_within(self.session(), *ciphertexts)

    async def decrypt(self, column: EncryptedColumn[M], row: M) -> str | None:
        """The plaintext `column` holds in `row`; None, without a key lookup, when it holds none."""
        blob = column.ciphertext(row)
        if blob is None:
            return None
        return column.unseal(await self.keys(blob), blob)

    async def keys_within(self, session: AsyncSession, *ciphertexts: bytes | None) -> TenantKeys:
        """Like `keys`, for work that already holds the session (inside `write`)."""
        versions = versions_in(list(ciphertexts))
        return await self.resources.keyring.keys(session, self.tenant.schema_name, versions=versions)

    async def write(self, work: Callable[[AsyncSession], Awaitable[T | Rejection]]) -> T | Rejection:
        """Run one mutation's work in a savepoint: kept if it returns a result, rolled back if it
        returns a rejection or raises, so nothing is written when a payload carries errors."""
        async with self._lock:
            session = self.session()
            savepoint = await session.begin_nested()
            relayed_before = len(outbox.pending(session))
            try:
                outcome = await work(session)
            except BaseException:
                await savepoint.rollback()
                del outbox.pending(session)[relayed_before:]
                raise
            if isinstance(outcome, Rejection):
                await savepoint.rollback()
                del outbox.pending(session)[relayed_before:]
            else:
                await savepoint.commit()
                self._wrote = True
            return outcome

    async def finish(self, *, commit: bool) -> None:
        """End the request's transaction; safe to call more than once. After a commit, the outbox
        work it wrote is relayed to the broker; after a rollback there is none."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
        except Exception:
            # The connection may be broken (a cancelled statement can close it): discard it, never
            # pool it dirty. A failed rollback leaves nothing written, so only a failed commit raises.
            await session.invalidate()
            if commit:
                raise
            log.warning("rollback failed; connection discarded [request %s]", self.request_id, exc_info=True)
            return
        finally:
            await session.close()
        if commit:
            await relay(self.resources.broker, outbox.take_pending(session))


Info = strawberry.Info[Context, None]
