"""usage outlives deleted jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:24:39.928135
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_intervals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_usage_intervals_run_id_runs"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("usage_intervals", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_intervals_run_id_runs"),
            "runs",
            ["run_id"],
            ["id"],
            ondelete="CASCADE",
        )
