"""Runs the `hospes` command in-process against the test servers, as an operator would."""

from __future__ import annotations

from click.testing import CliRunner, Result

from hospes.cli import main
from hospes.settings import Settings, get_settings


def hospes(
    settings: Settings, *args: str, env: dict[str, str] | None = None, stdin: str | bytes | None = None
) -> Result:
    """Invoke `hospes ARGS…` with the test database and Redis in its environment (plus `env`).
    `stdin` is what the command reads from standard input. The settings cache is cleared around the
    call so the command reads exactly this environment."""
    env = {
        "HOSPES_DATABASE_URL": settings.database_url or "",
        "HOSPES_REDIS_URL": settings.redis_url or "",
        "HOSPES_PASSWORD_TIME_COST": "1",
        "HOSPES_PASSWORD_MEMORY_KIB": "8192",
        **(env or {}),
    }
    get_settings.cache_clear()
    try:
        return CliRunner(env=env).invoke(main, list(args), input=stdin)
    finally:
        get_settings.cache_clear()


def error_line(result: Result) -> str:
    """The command's error report, which must be exactly one non-empty line."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line of error, got: {result.output!r}"
    return lines[0]
