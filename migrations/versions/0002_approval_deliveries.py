"""approval deliveries and the status each chat message shows

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_deliveries",
        sa.Column("approval_id", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_approval_deliveries_approval_id_approvals"),
        ),
        sa.PrimaryKeyConstraint("approval_id", "channel", name=op.f("pk_approval_deliveries")),
    )
    with op.batch_alter_table("approval_messages") as batch:
        batch.add_column(
            sa.Column(
                "rendered_status", sa.String(length=16), nullable=False, server_default="pending"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("approval_messages") as batch:
        batch.drop_column("rendered_status")
    op.drop_table("approval_deliveries")
