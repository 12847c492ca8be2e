"""inquiry reminders: the outbox carries an inquiry's follow-ups to the scheduler

Revision ID: p0004
Revises: p0003
Create Date: 2027-01-20 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "p0004"
down_revision: str | None = "p0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen with this revision: the allowed kinds before and after it.
KINDS_BEFORE = "'deliver', 'lifecycle'"
KINDS_AFTER = "'deliver', 'lifecycle', 'inquiry_reminder'"


def _allow(kinds: str) -> None:
    op.drop_constraint(op.f("outbox_kind"), "outbox", type_="check", schema="public")
    op.create_check_constraint(op.f("outbox_kind"), "outbox", f"kind IN ({kinds})", schema="public")


def upgrade() -> None:
    _allow(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM public.outbox WHERE kind = 'inquiry_reminder'")
    _allow(KINDS_BEFORE)
