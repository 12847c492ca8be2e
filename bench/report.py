"""How every benchmark prints: milliseconds, and plain-text tables with the first columns left-aligned
and the figures right-aligned."""

from __future__ import annotations

from collections.abc import Sequence

from hospes.bench.measure import Stats


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def text_table(rows: Sequence[tuple[str, ...]], *, left: int = 1) -> list[str]:
    """The rows (the first one the header) as aligned lines under a rule; the first `left` columns
    read as labels, the others as figures."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:left], widths[:left], strict=True)]
        cells += [cell.rjust(width) for cell, width in zip(row[left:], widths[left:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def api_floor_table(questions: Sequence[tuple[str, Stats, Stats]]) -> list[str]:
    """One line per question: the API's and the floor's p50 and p95, and their ratios."""
    header = ("question", "n", "API p50", "API p95", "floor p50", "floor p95", "p50 ratio", "p95 ratio")
    rows = [header]
    for name, api, floor in questions:
        rows.append(
            (
                name,
                str(api.requests),
                ms(api.p50),
                ms(api.p95),
                ms(floor.p50),
                ms(floor.p95),
                f"{api.p50 / floor.p50:.1f}x",
                f"{api.p95 / floor.p95:.1f}x",
            )
        )
    return text_table(rows)
