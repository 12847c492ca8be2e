"""`hospes bench inquiries` keeps running: a tiny run answers the same as its SQL floor, sends every
reminder exactly once and prints every figure."""

from __future__ import annotations

import re

from hospes.settings import Settings
from tests.helpers_cli import hospes


def test_bench_inquiries_agrees_with_its_floor_and_sends_each_reminder_once(settings: Settings) -> None:
    result = hospes(settings, "bench", "inquiries", "--guests", "300", "--requests", "10", "--warmup", "2")
    assert result.exit_code == 0, result.output
    report = result.stdout
    assert "inquiryStageCounts: same counts" in report, report
    assert "inquiries(stage: NEW, first: 50): same ids, order and total" in report, report
    falling = re.search(r"^([\d,]+) reminders falling due at once: all at the provider in", report, re.M)
    assert falling is not None, report
    due = int(falling[1].replace(",", ""))
    assert due > 0
    assert re.search(rf"^reminders: sent: {due} \({due} messages, {due} at the provider\)$", report, re.M), (
        report
    )
