"""dev environments and images

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:18:23.741905
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hangar.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=512), nullable=False),
        sa.Column("source_workload_id", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_images_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint(
            "tenant_id", "name", "version", name=op.f("uq_images_tenant_id_name_version")
        ),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_images_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "idle_policies",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("idle_minutes", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("gpu_busy_percent", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=16), nullable=True),
        sa.Column("updated_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_idle_policies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_idle_policies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idle_policies")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_idle_policies_workspace_id")),
    )
    op.create_table(
        "dev_environments",
        sa.Column("workload_id", sa.String(length=16), nullable=False),
        sa.Column("ide", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("runtime_id", sa.String(length=16), nullable=True),
        sa.Column("ssh_enabled", sa.Boolean(), nullable=False),
        sa.Column("ssh_keys", sa.JSON(), nullable=False),
        sa.Column("ide_port", sa.Integer(), nullable=True),
        sa.Column("ssh_port", sa.Integer(), nullable=True),
        sa.Column("exposed_ports", sa.JSON(), nullable=False),
        sa.Column("idle_minutes", sa.Integer(), nullable=True),
        sa.Column("stop_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_source", sa.String(length=32), nullable=False),
        sa.Column("idle_warned_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delete_requested_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "cache_purge_notified_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("cache_purged_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workload_id"],
            ["workloads.id"],
            name=op.f("fk_dev_environments_workload_id_workloads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workload_id", name=op.f("pk_dev_environments")),
    )
    op.create_table(
        "resource_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workload_id", sa.String(length=16), nullable=False),
        sa.Column("at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workload_id"],
            ["workloads.id"],
            name=op.f("fk_resource_samples_workload_id_workloads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_samples")),
    )
    with op.batch_alter_table("resource_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_samples_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resource_samples_workload_id"), ["workload_id"], unique=False
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("resource_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_samples_workload_id"))
        batch_op.drop_index(batch_op.f("ix_resource_samples_at"))

    op.drop_table("resource_samples")
    op.drop_table("dev_environments")
    op.drop_table("idle_policies")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_tenant_id"))

    op.drop_table("images")
    # ### end Alembic commands ###
