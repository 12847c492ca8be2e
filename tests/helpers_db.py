"""Plain-SQL views of the database, for tests that must see what the API cannot show them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from starlette.testclient import TestClient

from notifications.outgoing import RECIPIENT_COLUMN, SECRETS_COLUMN, reveal
from settings import Settings
from tenancy import rotation
from tenancy.database import quoted_schema
from tenancy.keyring import master_key_from

TENANT_TABLES = (
    "staff_user",
    "property",
    "guest",
    "booking",
    "payment",
    "service",
    "service_request",
    "communication",
    "communication_event",
    "scheduled_message",
    "message_template",
    "audit_event",
)


def row_counts(engine: sa.Engine, schema_name: str) -> dict[str, int]:
    """Rows per table of one tenant schema."""
    schema = quoted_schema(schema_name)
    with engine.connect() as connection:
        counts = {}
        for table in TENANT_TABLES:
            query = sa.text(f"SELECT count(*) FROM {schema}.{table}")
            counts[table] = int(connection.execute(query).scalar_one())
        return counts


def table_contents(engine: sa.Engine, schema_name: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of one tenant schema, in a stable order: a before/after snapshot."""
    schema = quoted_schema(schema_name)
    with engine.connect() as connection:
        contents = {}
        for table in TENANT_TABLES:
            query = sa.text(f"SELECT * FROM {schema}.{table} ORDER BY id")
            contents[table] = [tuple(row) for row in connection.execute(query)]
        return contents


def tenant_slugs(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.text("SELECT slug FROM public.tenant")).scalars())


def schema_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.text("SELECT nspname FROM pg_namespace")).scalars())


def alembic_version(engine: sa.Engine, schema_name: str) -> str | None:
    """The revision a tenant schema's `alembic_version` table records."""
    query = sa.text(f"SELECT version_num FROM {quoted_schema(schema_name)}.alembic_version")
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def mails(engine: sa.Engine, schema_name: str, template_key: str) -> list[SimpleNamespace]:
    """The mails of one kind as sent, oldest first: their links are stored encrypted beside the
    body (which shows markers), and `to` is the explicit address, if the mail had one."""
    query = sa.text(
        "SELECT guest_id, channel, direction, status, message_class, subject, body, secrets_enc, "
        f"recipient_enc FROM {quoted_schema(schema_name)}.communication WHERE template_key = :key "
        "ORDER BY created_at"
    )
    with engine.connect() as connection:
        found = list(connection.execute(query, {"key": template_key}))
    if not found:
        return []  # a tenant that never encrypted anything has no keys yet
    keys = rotation.load_keys(engine, master_key_from(Settings()), schema_name=schema_name)
    sent = []
    for row in found:
        secrets = json.loads(keys.decrypt(row.secrets_enc, column=SECRETS_COLUMN)) if row.secrets_enc else {}
        to = keys.decrypt_optional(row.recipient_enc, column=RECIPIENT_COLUMN)
        sent.append(SimpleNamespace(**{**row._mapping, "body": reveal(row.body, secrets), "to": to}))
    return sent


@contextmanager
def statements_of(client: TestClient) -> Iterator[list[str]]:
    """Every SQL statement the app sends to PostgreSQL inside the block."""
    engine = client.app.state.resources.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
