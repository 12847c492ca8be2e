"""Alembic environment of the `public` stream. The caller (tenancy.migrations) passes an open
connection inside a transaction and owns the commit."""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

from hospes import models  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name == "alembic_version":
        return False
    if type_ == "table":
        return obj.schema == "public"
    return True


connection.execute(text("SELECT set_config('search_path', 'public', true)"))
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    version_table="alembic_version",
    version_table_schema="public",
    include_schemas=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
