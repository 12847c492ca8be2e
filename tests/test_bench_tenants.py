"""`hospes bench tenants` keeps running: a tiny run prints every figure and leaves no database behind."""

from __future__ import annotations

import sqlalchemy as sa

from settings import Settings
from tests.helpers_cli import hospes


def _bench_databases(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'hospes_bench_%'")
        )
        return {row.datname for row in rows}


def test_bench_tenants_reports_every_figure_and_drops_its_database(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    before = _bench_databases(sync_engine)
    result = hospes(settings, "bench", "tenants", "--tenants", "3", "--requests", "10", "--warmup", "1")
    assert result.exit_code == 0, result.output
    report = result.stdout
    for expected in (
        "provisioning: 3 tenants by one `hospes tenant create --from-file`",
        "tenants/s",
        "`hospes migrate` over 3 tenants at head in",
        "tenant 1 only:",
        "spread over 3 tenants:",
        "ratio (spread / one):",
        "fresh: tenant 1 only:",
        "after touching all 3 tenants:",
        "recycling server, all 3 touched:",
        "recycled:",
    ):
        assert expected in report, report
    assert "private" in report and "MB" in report
    assert _bench_databases(sync_engine) <= before
