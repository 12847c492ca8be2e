"""Alembic migration streams: `public` (the registry) and `tenant` (run into every tenant schema)."""
