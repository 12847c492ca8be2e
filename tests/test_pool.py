"""A request never needs a second pooled connection: a new tenant's first keys are made through the
request's own transaction, so even a pool of one connection serves its first private write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.settings import Settings
from hospes.tenancy.database import TenantSessions, create_engine_async, quoted_schema
from hospes.tenancy.keyring import Keyring, master_key_from
from tests.conftest import OWNER_PASSWORD, TEST_CONNECTIONS, GraphQLClient, TenantFixture, login
from tests.factories import CREATE_GUEST

GUEST = """query($id: ID!) { guest(id: $id) { email } }"""


def _owner(client: TestClient, tenant: TenantFixture) -> GraphQLClient:
    token = login(client, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)
    return GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def _key_rows(sync_engine: sa.Engine, schema_name: str) -> int:
    with sync_engine.connect() as connection:
        count = connection.execute(
            sa.text(f"SELECT count(*) FROM {quoted_schema(schema_name)}.data_key")
        ).scalar_one()
    return int(count)


def _first_guest(api: GraphQLClient, email: str) -> dict[str, Any]:
    body = api(CREATE_GUEST, {"input": {"name": "Anna Hemm", "email": email}})
    assert not body.get("errors"), body["errors"]
    payload: dict[str, Any] = body["data"]["createGuest"]
    assert payload["errors"] == [], payload["errors"]
    return payload


def test_a_pool_of_one_serves_a_new_tenants_first_private_write(
    strict: Callable[..., TestClient],
    make_tenant: Callable[..., TenantFixture],
    sync_engine: sa.Engine,
) -> None:
    tenant = make_tenant("pool")
    assert _key_rows(sync_engine, tenant.schema_name) == 0
    client = strict(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=2)
    api = _owner(client, tenant)

    guest = _first_guest(api, "anna@example.com")["guest"]

    assert guest["email"] == "anna@example.com"
    assert _key_rows(sync_engine, tenant.schema_name) == 2  # committed with the guest
    assert api.data(GUEST, {"id": guest["id"]})["guest"]["email"] == "anna@example.com"


def test_new_tenants_first_private_writes_at_once_share_a_small_pool(
    strict: Callable[..., TestClient],
    make_tenant: Callable[..., TenantFixture],
    sync_engine: sa.Engine,
) -> None:
    tenants = [make_tenant("pool") for _ in range(5)]
    client = strict(db_pool_size=2, db_max_overflow=0, db_pool_timeout_seconds=2)
    owners = [_owner(client, tenant) for tenant in tenants]

    with ThreadPoolExecutor(max_workers=len(owners)) as pool:
        payloads = list(pool.map(_first_guest, owners, [f"guest{i}@example.com" for i in range(5)]))

    assert [p["guest"]["email"] for p in payloads] == [f"guest{i}@example.com" for i in range(5)]
    assert [_key_rows(sync_engine, t.schema_name) for t in tenants] == [2] * 5


def test_one_tenants_first_private_writes_at_once_make_one_set_of_keys(
    strict: Callable[..., TestClient],
    make_tenant: Callable[..., TenantFixture],
    sync_engine: sa.Engine,
) -> None:
    tenant = make_tenant("pool")
    client = strict(db_pool_size=2, db_max_overflow=0, db_pool_timeout_seconds=5)
    owners = [_owner(client, tenant) for _ in range(4)]

    with ThreadPoolExecutor(max_workers=len(owners)) as pool:
        payloads = list(pool.map(_first_guest, owners, [f"same{i}@example.com" for i in range(4)]))

    assert len(payloads) == 4
    assert _key_rows(sync_engine, tenant.schema_name) == 2
    for i, payload in enumerate(payloads):
        guest = owners[0].data(GUEST, {"id": payload["guest"]["id"]})["guest"]
        assert guest["email"] == f"same{i}@example.com"


def test_first_keys_rolled_back_with_their_transaction_are_never_cached(
    make_tenant: Callable[..., TenantFixture], settings: Settings, sync_engine: sa.Engine
) -> None:
    tenant = make_tenant("pool")

    async def attempt() -> None:
        engine = create_engine_async(
            settings.database_url or "", policy=TEST_CONNECTIONS, pool_size=1, max_overflow=0, pool_timeout=2
        )
        keyring = Keyring(master_key_from(settings), ttl_seconds=3600)
        sessions = TenantSessions(engine)
        try:
            async with sessions.open(tenant.schema_name) as session, session.begin():
                lost = await keyring.keys(session, tenant.schema_name)
                assert (await keyring.keys(session, tenant.schema_name)).data_keys == lost.data_keys
                await session.rollback()
            async with sessions.open(tenant.schema_name) as session, session.begin():
                kept = await keyring.keys(session, tenant.schema_name)
            assert kept.data_keys != lost.data_keys
            async with sessions.open(tenant.schema_name) as session, session.begin():
                assert (await keyring.keys(session, tenant.schema_name)).data_keys == kept.data_keys
        finally:
            await engine.dispose()

    asyncio.run(attempt())
    assert _key_rows(sync_engine, tenant.schema_name) == 2
