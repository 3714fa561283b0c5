"""send retries: when a temporarily refused effect is tried next, and until when

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("effects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retry_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_effects_status_next_try", ["status", "next_try_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("effects", schema=None) as batch_op:
        batch_op.drop_index("ix_effects_status_next_try")
        batch_op.drop_column("retry_until")
        batch_op.drop_column("next_try_at")
