"""`schema.graphql`, the SDL clients and the CI fuzzer read, is exactly what the code serves."""

from __future__ import annotations

from pathlib import Path

from hospes.settings import Settings
from tests.helpers_cli import hospes

COMMITTED = Path(__file__).resolve().parent.parent / "schema.graphql"
REGENERATE = "hospes schema --output schema.graphql"
# No database or Redis configured: `hospes schema` must need neither.
NO_SERVERS = Settings.model_construct()


def _sdl() -> str:
    result = hospes(NO_SERVERS, "schema")
    assert result.exit_code == 0, result.output
    return result.output


def test_committed_schema_graphql_matches_the_code() -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert _sdl() == committed, (
        f"schema.graphql is out of date with the code: run `{REGENERATE}` and commit the file"
    )


def test_schema_output_writes_the_same_sdl_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    result = hospes(NO_SERVERS, "schema", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == _sdl()
    assert "type Mutation {" in target.read_text(encoding="utf-8")


def test_schema_needs_no_database_redis_or_master_key() -> None:
    # Production with nothing configured stops every other command.
    result = hospes(NO_SERVERS, "schema", env={"HOSPES_ENV": "production", "HOSPES_MASTER_KEY": ""})
    assert result.exit_code == 0, result.output
    assert "type Query {" in result.output
