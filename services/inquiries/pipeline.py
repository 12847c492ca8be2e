"""The pipeline as staff see it: the list of inquiries (what needs action first, then the newest
activity) and the count per stage for the sidebar. Statements only; the API runs them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from hospes.models.tenant import Guest, Inquiry, InquiryStage
from hospes.services.guests import search_condition
from hospes.services.paging import Listing, Sort
from hospes.tenancy.crypto import TenantKeys

# Needs action first, then the newest activity; the id keeps the order total for the cursor.
PIPELINE_ORDER = Sort(
    "pipeline",
    col(Inquiry.last_activity_at),
    col(Inquiry.id),
    "datetime",
    descending=True,
    leading=col(Inquiry.needs_action),
    leading_kind="bool",
)


def inquiry_list(
    *, stage: InquiryStage | None, search: tuple[str, TenantKeys] | None, region: str | None
) -> Listing:
    """The inquiries in `stage` (all stages when None) whose guest matches `search` (the term and
    the keys its blind index needs; matched like the customer list), in pipeline order."""
    conditions: list[sa.ColumnElement[bool]] = []
    if stage is not None:
        conditions.append(col(Inquiry.stage) == stage.value)
    if search is not None:
        term, keys = search
        matching_guests = sa.select(col(Guest.id)).where(search_condition(term, keys=keys, region=region))
        conditions.append(col(Inquiry.guest_id).in_(matching_guests))
    where = sa.and_(sa.true(), *conditions)
    return Listing(
        sa.select(Inquiry).where(where),
        PIPELINE_ORDER,
        sa.select(sa.func.count()).select_from(Inquiry).where(where),
    )


def stage_counts() -> sa.Select[Any]:
    """One statement: (stage, count, needs action) for every stage, zeros included."""
    stages = sa.values(sa.column("stage", sa.String), name="stages").data(
        [(stage.value,) for stage in InquiryStage]
    )
    return (
        sa.select(
            stages.c.stage,
            sa.func.count(col(Inquiry.id)).label("count"),
            sa.func.count(col(Inquiry.id)).filter(col(Inquiry.needs_action)).label("needs_action"),
        )
        .select_from(stages.outerjoin(Inquiry, col(Inquiry.stage) == stages.c.stage))
        .group_by(stages.c.stage)
    )
