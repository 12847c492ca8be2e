"""`schema.graphql`, the SDL clients and the CI fuzzer read, is exactly what the code serves."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from settings import get_settings

COMMITTED = Path(__file__).resolve().parent.parent / "schema.graphql"
REGENERATE = "hospes schema --output schema.graphql"


def _hospes_schema(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `hospes schema ARGS…` in-process with exactly `env` as the Hospes environment."""
    get_settings.cache_clear()
    try:
        result = CliRunner(env=env).invoke(main, ["schema", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_committed_schema_graphql_matches_the_code() -> None:
    exit_code, sdl = _hospes_schema()
    assert exit_code == 0, sdl
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert sdl == committed, (
        f"schema.graphql is out of date with the code: run `{REGENERATE}` and commit the file"
    )


def test_schema_output_writes_the_same_sdl_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    exit_code, output = _hospes_schema("--output", str(target))
    assert exit_code == 0, output
    assert target.read_text(encoding="utf-8") == _hospes_schema()[1]
    assert "type Mutation {" in target.read_text(encoding="utf-8")


def test_schema_needs_no_database_redis_or_master_key() -> None:
    # Production settings with nothing configured would stop any other command; nothing listens here.
    exit_code, sdl = _hospes_schema(
        env={
            "HOSPES_ENV": "production",
            "HOSPES_DATABASE_URL": "",
            "HOSPES_REDIS_URL": "",
            "HOSPES_MASTER_KEY": "",
        }
    )
    assert exit_code == 0, sdl
    assert "type Query {" in sdl
