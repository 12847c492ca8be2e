"""unknown outcome: a message whose worker died during the provider call is `unknown`, not `failed`

Revision ID: t0007
Revises: t0006
Create Date: 2027-01-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t0007"
down_revision: str | None = "t0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The allowed values as they were before and after this revision (frozen: no app imports).
STATUS_BEFORE = "'queued', 'sent', 'delivered', 'read', 'failed', 'suppressed'"
STATUS_AFTER = f"{STATUS_BEFORE}, 'unknown'"
STEP_BEFORE = (
    "'queued', 'suppressed', 'sending', 'sent', 'retrying', 'rerouted', 'failed', 'delivered', 'read', "
    "'received'"
)
STEP_AFTER = f"{STEP_BEFORE}, 'unknown'"
# What t0006's code wrote for such a message; a downgrade writes it again.
INTERRUPTED = "interrupted during the provider call; not retried, so the guest is never contacted twice"


def _allow(table: str, column: str, values: str) -> None:
    name = op.f(f"{table}_{column}")
    op.drop_constraint(name, table, type_="check")
    op.create_check_constraint(name, table, f"{column} IN ({values})")


def upgrade() -> None:
    _allow("communication", "status", STATUS_AFTER)
    _allow("communication_event", "step", STEP_AFTER)
    # Messages marked failed for an interrupted call had an unknown outcome all along.
    interrupted = {"reason": INTERRUPTED}
    op.execute(
        sa.text(
            "UPDATE communication_event SET step = 'unknown' WHERE step = 'failed' AND detail = :reason "
            "AND communication_id IN (SELECT id FROM communication WHERE status = 'failed' AND error = :reason)"
        ).bindparams(**interrupted)
    )
    op.execute(
        sa.text(
            "UPDATE communication SET status = 'unknown' WHERE status = 'failed' AND error = :reason"
        ).bindparams(**interrupted)
    )


def downgrade() -> None:
    op.execute("UPDATE communication SET status = 'failed' WHERE status = 'unknown'")
    op.execute("UPDATE communication_event SET step = 'failed' WHERE step = 'unknown'")
    _allow("communication", "status", STATUS_BEFORE)
    _allow("communication_event", "step", STEP_BEFORE)
