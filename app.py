"""ASGI composition: the Starlette app, its middleware, `/graphql`, the provider webhooks and `/healthz`."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import sqlalchemy as sa
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.typevars import RootValue

from hospes.notifications.webhooks import INBOUND_EMAIL_PATH, Webhooks
from hospes.resolvers.context import Context
from hospes.schema.build import build_schema
from hospes.schema.errors import TIMED_OUT, UNAVAILABLE, ErrorCode
from hospes.schema.json_walk import holds_lone_surrogate, nests_deeper_than
from hospes.schema.outcome import has_code, must_roll_back, report_failed_commit, report_nothing_written
from hospes.schema.validation import OFF_LOOP_CHARS, VALIDATION_THREAD
from hospes.services import inbound, inbound_email
from hospes.settings import Settings, get_settings
from hospes.tasks.broker import make_broker
from hospes.tenancy.credentials import CredentialResolver
from hospes.tenancy.database import ConnectionPolicy, Role, TenantSessions, create_engine_async
from hospes.tenancy.keyring import Keyring, master_key_from
from hospes.tenancy.logins import LoginStore
from hospes.tenancy.middleware import TenancyMiddleware
from hospes.tenancy.outages import is_timeout, is_unavailable
from hospes.tenancy.passwords import Passwords
from hospes.tenancy.principal import AuthResult
from hospes.tenancy.registry import TenantRegistry
from hospes.tenancy.resources import Resources

log = logging.getLogger("hospes.app")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Seconds a client is asked to wait when PostgreSQL or Redis is down: long enough for a restart
# or failover to finish, short enough that clients come back soon after.
RETRY_AFTER_SECONDS = 5
# /healthz answers within this many seconds per dependency, even when one hangs.
HEALTH_CHECK_SECONDS = 2.0


class DependencyUnavailable(Exception):
    """PostgreSQL or Redis failed a GraphQL request: answered 503, after its rollback."""


def unavailable_response(request_id: str) -> JSONResponse:
    """The 503 for a request that met an unreachable dependency; it names no host or driver."""
    return JSONResponse(
        {
            "errors": [
                {
                    "message": UNAVAILABLE,
                    "extensions": {"code": ErrorCode.UNAVAILABLE.value, "requestId": request_id},
                }
            ]
        },
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class RequestIdMiddleware:
    """Gives every request an id (the caller's `X-Request-Id` if sane), echoed in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if isinstance(error, DependencyUnavailable) or is_unavailable(error):
                # The type only: driver messages name hosts, and SQLAlchemy's carry parameters.
                cause = type(error.__cause__ or error).__name__
                log.warning("dependency unavailable [request %s]: %s", request_id, cause)
                await unavailable_response(request_id)(scope, receive, send_with_id)
                return
            log.exception("unhandled error [request %s]", request_id)
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Internal error.",
                            "extensions": {"code": "INTERNAL", "requestId": request_id},
                        }
                    ]
                },
                status_code=500,
            )
            await response(scope, receive, send_with_id)


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_bytes` (413) before anything parses them; a path in
    `path_limits` has its own limit instead."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, path_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await JSONResponse({"errors": [{"message": "Request body too large."}]}, status_code=413)(
                scope, receive, send
            )
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await JSONResponse({"errors": [{"message": "Request body too large."}]}, status_code=413)(
                scope, receive, send
            )


class _BodyTooLarge(Exception):
    pass


# A large body decoded off the loop, handed to strawberry's (synchronous) JSON step for this request.
_DECODED_OFF_LOOP: contextvars.ContextVar[tuple[bytes, object] | None] = contextvars.ContextVar(
    "decoded_off_loop", default=None
)

# JSON in a request nests no deeper than this (our inputs nest a few levels); deeper is refused
# before anything walks it recursively.
MAX_JSON_NESTING = 32


def decode_request_json(data: str | bytes) -> object:
    """JSON the view reads (a body, or a GET's `variables` or `extensions`): well-formed UTF-8
    (no escaped unpaired surrogate either), nesting at most MAX_JSON_NESTING deep, an object or a
    non-empty list of objects (a batch)."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise HTTPException(400, "The request is not well-formed UTF-8 JSON.") from error
    if nests_deeper_than(value, MAX_JSON_NESTING):
        raise HTTPException(400, f"The request nests JSON deeper than {MAX_JSON_NESTING} levels.")
    if holds_lone_surrogate(value):
        raise HTTPException(
            400,
            "The request is not well-formed UTF-8 JSON: it escapes an unpaired surrogate (\\uD800-\\uDFFF).",
        )
    if not isinstance(value, dict) and not (
        isinstance(value, list) and value and all(isinstance(item, dict) for item in value)
    ):
        raise HTTPException(400, "A GraphQL request is a JSON object, or a list of them (a batch).")
    return value


def operation_shape_error(operation: GraphQLRequestData) -> str | None:
    """Why one operation of a request has a field of the wrong type, if it has one."""
    expected = (
        ("query", operation.query, str, "a string"),
        ("operationName", operation.operation_name, str, "a string"),
        ("variables", operation.variables, dict, "an object"),
        ("extensions", operation.extensions, dict, "an object"),
    )
    for name, value, type_, described in expected:
        if value is not None and not isinstance(value, type_):
            return f"The operation's `{name}` must be {described} or null, if provided."
    return None


class HospesGraphQL(GraphQL[Context, RootValue]):
    """Strawberry's ASGI view with our context; the request owns the transaction and ends it
    before the response is sent: committed, or rolled back whole when any operation of it met an
    unexpected error or its answer could not show what it wrote (the answer then says nothing was
    written). A malformed request is
    refused with 400 before execution."""

    def __init__(self, resources: Resources) -> None:
        settings = resources.settings
        schema = build_schema(settings)
        self.read_compiler = schema.read_compiler
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.is_development else None,
            allow_queries_via_get=True,
        )
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:  # strawberry answers these in plain text; clients read JSON
            extensions = {"code": ErrorCode.BAD_USER_INPUT.value} if error.status_code == 400 else {}
            response = JSONResponse(
                {"errors": [{"message": error.reason, "extensions": extensions}]},
                status_code=error.status_code,
            )
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        decoded = _DECODED_OFF_LOOP.get()
        if decoded is not None and decoded[0] is data:
            return decoded[1]
        return decode_request_json(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            body = await request.get_body()  # Starlette keeps it: strawberry's read gets this object
            if len(body) > OFF_LOOP_CHARS:
                # Decoding and walking a large body takes tens of ms: done on the validation
                # thread, so the event loop keeps serving meanwhile.
                loop = asyncio.get_running_loop()
                decoded = await loop.run_in_executor(VALIDATION_THREAD, decode_request_json, body)
                _DECODED_OFF_LOOP.set((body, decoded))
        parsed = await super().parse_http_body(request)
        for operation in parsed if isinstance(parsed, list) else [parsed]:
            reason = operation_shape_error(operation)
            if reason is not None:
                raise HTTPException(400, reason)
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.scope.get("state", {})
        return Context(
            request=request,
            resources=self.resources,
            auth=state.get("auth") or AuthResult.anonymous(),
            request_id=state.get("request_id") or uuid.uuid4().hex,
        )

    def encode_json(self, data: object) -> bytes:
        """The response body: the JSON `json.dumps` wrote before (clients parse the same values),
        by orjson, several times faster. What orjson refuses (a lone surrogate, an integer over
        64 bits) is written as before."""
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            return json.dumps(data, separators=(",", ":")).encode()

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        context: Context = kwargs["context"]
        for attempt in (1, 2):
            try:
                result = await super().execute_operation(*args, **kwargs)
            except BaseException as error:
                if attempt == 1 and isinstance(error, Exception) and _died_unused(context, error=error):
                    await context.restart()
                    continue
                await context.finish(commit=False)
                raise
            if attempt == 1 and _died_unused(context, result=result):
                await context.restart()
                continue
            break
        # A batch shares one transaction: what must undo one operation undoes them all.
        results = result if isinstance(result, list) else [result]
        wrote = context.wrote
        if not must_roll_back(results, wrote=wrote):
            try:
                await context.finish(commit=True)
            except Exception as error:
                if not is_timeout(error):
                    raise  # unreachable dependencies are answered 503 by RequestIdMiddleware
                for each in results:
                    report_failed_commit(
                        each, code=ErrorCode.TIMEOUT, message=TIMED_OUT, request_id=context.request_id
                    )
            return result
        await context.finish(commit=False)
        if has_code(results, ErrorCode.UNAVAILABLE):
            raise DependencyUnavailable
        for each in results:
            report_nothing_written(each, drop_data=wrote, request_id=context.request_id)
        return result


def _died_unused(context: Context, *, error: Exception | None = None, result: Any = None) -> bool:
    """Whether an attempt failed only because its pooled connection was dead before any of its
    statements ran (pooled connections are not pinged before use): it is then run once more on a
    fresh connection, which SQLAlchemy's pool hands out after invalidating the dead one."""
    if not context.connection_died_unused:
        return False
    if error is not None:
        unavailable = is_unavailable(error)
    else:
        unavailable = has_code(result if isinstance(result, list) else [result], ErrorCode.UNAVAILABLE)
    if unavailable:
        log.info("connection found dead before use; retrying on a fresh one [request %s]", context.request_id)
    return unavailable


def build_resources(settings: Settings, *, database_url: str, redis_url: str) -> Resources:
    engine = create_engine_async(
        database_url,
        policy=ConnectionPolicy.of(settings, role=Role.API),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pre_ping=False,  # a request whose connection was dead before use is retried instead
    )
    redis = Redis.from_url(
        redis_url,
        socket_connect_timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
    )
    return Resources(
        settings=settings,
        engine=engine,
        redis=redis,
        registry=TenantRegistry(engine, ttl_seconds=settings.tenant_cache_seconds),
        logins=LoginStore(
            redis, ttl_seconds=settings.session_ttl_seconds, namespace=settings.redis_namespace
        ),
        tenant_sessions=TenantSessions(engine, statement_timeout_ms=settings.db_statement_timeout_ms),
        passwords=Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib),
        keyring=Keyring(master_key_from(settings), ttl_seconds=settings.tenant_cache_seconds),
        broker=make_broker(
            redis_url, namespace=settings.redis_namespace, socket_timeout=settings.relay_timeout_seconds
        ),
    )


def create_app(settings: Settings, *, database_url: str, redis_url: str) -> Starlette:
    """The whole API, wired to the given servers."""
    resources = build_resources(settings, database_url=database_url, redis_url=redis_url)
    graphql = HospesGraphQL(resources)

    async def database_ok() -> None:
        async with resources.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def redis_ok() -> None:
        await resources.redis.ping()

    async def healthz(_: Request) -> Response:
        checks: dict[str, str] = {}
        for name, check in (("database", database_ok), ("redis", redis_ok)):
            try:
                # Bounded: a dependency that hangs (a dead host, a full pool) is reported, not waited on.
                await asyncio.wait_for(check(), HEALTH_CHECK_SECONDS)
                checks[name] = "ok"
            except Exception:
                checks[name] = "unavailable"
        healthy = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", **checks},
            status_code=200 if healthy else 503,
            headers=None if healthy else {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await resources.redis.aclose()
        await resources.engine.dispose()
        if resources.broker is not None:
            resources.broker.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *Webhooks(
                resources,
                store_inbound=inbound.record_inbound,
                store_inbound_email=inbound_email.record_inbound_email,
            ).routes(),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                BodySizeLimitMiddleware,
                max_bytes=settings.max_request_bytes,
                # A mail with its attachments is bigger than any GraphQL request; the route caps it.
                path_limits={INBOUND_EMAIL_PATH: settings.inbound_email_max_bytes},
            ),
            Middleware(
                TenancyMiddleware,
                resolver=CredentialResolver(
                    registry=resources.registry,
                    logins=resources.logins,
                    engine=resources.engine,
                    redis=resources.redis,
                    namespace=settings.redis_namespace,
                    api_key_limit_per_minute=settings.api_key_limit_per_minute,
                ),
            ),
        ],
        lifespan=lifespan,
    )
    app.state.resources = resources
    app.state.read_compiler = graphql.read_compiler
    return app


def app_from_environment() -> Starlette:
    """App factory for `uvicorn --factory` with several workers: servers come from the settings."""
    settings = get_settings()
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("HOSPES_DATABASE_URL and HOSPES_REDIS_URL must be set")
    return create_app(settings, database_url=settings.database_url, redis_url=settings.redis_url)
