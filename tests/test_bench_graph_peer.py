"""`hospes bench graph` side by side with its peer: a tiny run drives Hospes, the SQL floor and
PostGraphile 4 (installed from npm on first use, when node is here), finds that PostGraphile's
answers hold the same data as Hospes', prints every phase and ratio, and drops its tenant; without
node it says so and prints the rest."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hospes.settings import Settings
from tests.helpers_cli import hospes

TINY = (
    "bench", "graph", "--guests", "12", "--requests", "10", "--warmup", "1", "--max-seconds", "1",
    "--concurrency", "2", "--peer-seconds", "0.2", "--peer-bookings", "5,10",
)  # fmt: skip
PHASES = (
    "guest detail ",
    "guests(first: 50) ",
    "guest detail, 5 bookings ",
    "guest detail, 10 bookings ",
    "guests(first: 10) ",
    "guests(first: 100) ",
)


def _schema_exists(engine: sa.Engine, report: str) -> bool:
    slug = re.search(r"tenant (bench-[0-9a-f]+):", report)
    assert slug is not None, report
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :name"),
            {"name": "t_" + slug[1].replace("-", "_")},
        )
        return found.first() is not None


def _rows(report: str, side: str) -> list[str]:
    return [line for line in report.splitlines() if re.search(rf"\s{side}\s+[0-9.]+\s", line)]


# About a minute on a shared 2-core machine (npm install on the first run, PostGraphile's start).
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_bench_graph_runs_hospes_the_floor_and_postgraphile_side_by_side(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    result = hospes(settings, *TINY)

    assert result.exit_code == 0, result.output
    report = result.stdout
    assert "PostGraphile vs Hospes, guest detail: same data" in report, report
    assert "PostGraphile vs Hospes, guests(first: 50): same data" in report, report
    for side in ("hospes", "floor", "postgraphile"):
        rows = _rows(report, side)
        assert [phase for phase in PHASES if not any(row.startswith(phase) for row in rows)] == [], report
    for figure in (
        "guest detail requests/s, Hospes / PostGraphile",
        "guest detail p50, Hospes / SQL floor",
        "guests(first: 50) p50, Hospes / SQL floor",
        "guests(first: 50) requests/s, Hospes / PostGraphile",
        "p95 / p50 on list pages, Hospes (1 client)",
    ):
        line = next(line for line in report.splitlines() if line.startswith(figure))
        assert re.search(r"[0-9]+\.[0-9]+x?\s+[≥≤]", line), line
    assert re.search(r"^  postgraphile\s+-?[0-9.]+ ms$", report, re.MULTILINE), report
    assert not _schema_exists(sync_engine, report)


def test_bench_graph_without_node_says_so_and_prints_the_rest(
    settings: Settings, sync_engine: sa.Engine, tmp_path: Path
) -> None:
    # A PATH with this interpreter's scripts only: no node, no npm.
    only_python = tmp_path / "bin"
    only_python.mkdir()
    os.symlink(sys.executable, only_python / "python")
    result = hospes(settings, *TINY, env={"PATH": f"{Path(sys.executable).parent}:{only_python}"})

    assert result.exit_code == 0, result.output
    report = result.stdout
    assert "PostGraphile: not run (node and npm not found on the PATH); Hospes and the floor only." in report
    assert _rows(report, "postgraphile") == []
    for side in ("hospes", "floor"):
        rows = _rows(report, side)
        assert [phase for phase in PHASES if not any(row.startswith(phase) for row in rows)] == [], report
    assert re.search(r"guest detail p50, Hospes / SQL floor\s+[0-9.]+x", report), report
    assert re.search(r"guest detail requests/s, Hospes / PostGraphile\s+—", report), report
    assert not _schema_exists(sync_engine, report)
