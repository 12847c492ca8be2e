"""Alembic environment of the `tenant` stream, run once per tenant schema. The caller
(tenancy.migrations) passes an open connection inside a transaction and the schema name; the
tables carry no schema, so the transaction-local search_path places them in that tenant."""

from alembic import context
from sqlmodel import SQLModel

from hospes import models  # noqa: F401  (registers the tables on the metadata)
from hospes.tenancy.database import bind_search_path

connection = context.config.attributes["connection"]
schema_name = context.config.attributes["schema_name"]


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name == "alembic_version":
        return False
    if type_ == "table":
        return obj.schema is None
    return True


bind_search_path(connection, schema_name)
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    version_table="alembic_version",
    version_table_schema=schema_name,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
