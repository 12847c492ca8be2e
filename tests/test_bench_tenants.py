"""`hospes bench tenants` keeps running: a tiny run prints every figure and leaves no database behind."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hospes.settings import Settings
from tests.helpers_cli import hospes


def _exists(engine: sa.Engine, database: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        return found.first() is not None


def test_bench_tenants_reports_every_figure_and_drops_its_database(
    settings: Settings, sync_engine: sa.Engine
) -> None:
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
    # Its own scratch database, by name: other runs on the same server make theirs meanwhile.
    scratch = re.search(r"scratch database (hospes_bench_[0-9a-f]+) \(dropped\)", report)
    assert scratch is not None, report
    assert not _exists(sync_engine, scratch[1])
