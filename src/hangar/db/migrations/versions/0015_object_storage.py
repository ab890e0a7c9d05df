"""object storage: the sealed secret key of an S3-compatible storage, model versions on
tenant storage

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
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage_id", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("path", sa.String(length=4096), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_model_versions_storage_id_external_storages"),
            "external_storages", ["storage_id"], ["id"], ondelete="RESTRICT",
        )  # fmt: skip
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        # The default only filled the existing rows; the application always sets it.
        batch_op.alter_column("path", existing_type=sa.String(length=4096), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_model_versions_storage_id_external_storages"), type_="foreignkey"
        )
        batch_op.drop_column("path")
        batch_op.drop_column("storage_id")
    with op.batch_alter_table("external_storages", schema=None) as batch_op:
        batch_op.drop_column("sealed_secret")
