"""object storage: the sealed secret key of an S3-compatible storage

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("external_storages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_secret", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("external_storages", schema=None) as batch_op:
        batch_op.drop_column("sealed_secret")
