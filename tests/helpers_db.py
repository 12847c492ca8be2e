"""Plain-SQL views of the database, for tests that must see what the API cannot show them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from starlette.testclient import TestClient

from hospes.models.tenant import Communication
from hospes.notifications.outgoing import as_sent
from hospes.settings import Settings
from hospes.tenancy import rotation
from hospes.tenancy.crypto import TenantKeys, version_of
from hospes.tenancy.database import bind_search_path, quoted_schema
from hospes.tenancy.encrypted_columns import MESSAGE_RECIPIENT
from hospes.tenancy.keyring import master_key_from

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
    "inquiry",
    "inquiry_quote",
    "inquiry_reminder",
    "inquiry_event",
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


def raw_rows(engine: sa.Engine, schema_name: str, table: str) -> list[str]:
    """Every column of every row of a tenant table, as PostgreSQL renders it (bytea as hex)."""
    alias = sa.table(table, schema=schema_name).alias("t")
    query = sa.select(sa.cast(sa.func.row_to_json(sa.literal_column("t")), sa.Text)).select_from(alias)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def tenant_tables(engine: sa.Engine, schema_name: str) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"),
                {"schema": schema_name},
            ).scalars()
        )


def plaintext_found(engine: sa.Engine, schema_name: str, secrets: list[str]) -> list[tuple[str, str]]:
    """(table, secret) for every secret that any row of any table of the tenant holds readably:
    as text (any case) or as the hex of its UTF-8 bytes (a bytea column)."""
    needles = {secret: {secret.lower(), secret.encode().hex()} for secret in secrets}
    found = []
    for table in tenant_tables(engine, schema_name):
        text = "\n".join(raw_rows(engine, schema_name, table)).lower()
        found += [(table, secret) for secret, forms in needles.items() if any(f in text for f in forms)]
    return found


def all_versions(engine: sa.Engine, schema_name: str) -> set[int]:
    """The data key version of every ciphertext in every encrypted column of the tenant."""
    found: set[int] = set()
    for table, columns in rotation.ENCRYPTED_COLUMNS.items():
        t = sa.table(table, *(sa.column(column.attribute) for column in columns), schema=schema_name)
        with engine.connect() as connection:
            for row in connection.execute(sa.select(*t.c)):
                found.update(version_of(bytes(blob)) for blob in row if blob is not None)
    return found


def run_in_tenant(engine: sa.Engine, schema_name: str, statements: list[str], params: dict[str, Any]) -> None:
    """Plain SQL in one transaction bound to the tenant's schema, as the application binds its own."""
    with engine.begin() as connection:
        bind_search_path(connection, schema_name)
        for statement in statements:
            connection.execute(sa.text(statement), params)


def tenant_keys(engine: sa.Engine, schema_name: str) -> TenantKeys:
    """The tenant's keys, unwrapped with the run's master key, to read what the API stored."""
    return rotation.load_keys(engine, master_key_from(Settings()), schema_name=schema_name)


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
    """The mails of one kind as sent, oldest first: decrypted, their links (stored encrypted beside
    the body, which shows markers) put back, and `to` the explicit address, if the mail had one."""
    query = sa.text(
        "SELECT guest_id, channel, direction, status, message_class, subject_enc, body_enc, secrets_enc, "
        f"recipient_enc FROM {quoted_schema(schema_name)}.communication WHERE template_key = :key "
        "ORDER BY created_at"
    )
    with engine.connect() as connection:
        found = list(connection.execute(query, {"key": template_key}))
    if not found:
        return []  # a tenant that never encrypted anything has no keys yet
    keys = tenant_keys(engine, schema_name)
    sent = []
    for row in found:
        subject, body = as_sent(Communication(**row._mapping), keys)
        to = MESSAGE_RECIPIENT.unseal(keys, row.recipient_enc)
        sent.append(SimpleNamespace(**row._mapping, subject=subject, body=body, to=to))
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


def add_trigger(
    engine: sa.Engine, schema_name: str, *, name: str, body: str, when: str, constraint: bool = False
) -> None:
    """A plpgsql trigger function `name` with `body` in the tenant's schema, fired as `when`
    ("BEFORE INSERT ON guest FOR EACH ROW", …; table names resolve in that schema); a constraint
    trigger may be deferred to the commit."""
    schema = quoted_schema(schema_name)
    on_table = re.sub(r"\bON (\w+)", rf"ON {schema}.\1", when, count=1)
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"CREATE FUNCTION {schema}.{name}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$")
        )
        connection.execute(
            sa.text(
                f"CREATE {'CONSTRAINT ' if constraint else ''}TRIGGER {name} {on_table} EXECUTE FUNCTION {schema}.{name}()"
            )
        )
