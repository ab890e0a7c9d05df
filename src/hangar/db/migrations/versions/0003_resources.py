"""resources

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:21:37.978709
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hangar.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_clusters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("name", name=op.f("uq_clusters_name")),
    )
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clusters_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("cpu_millicores", sa.Integer(), nullable=False),
        sa.Column("mem_bytes", sa.BigInteger(), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("cordoned", sa.Boolean(), nullable=False),
        sa.Column("status_reason", sa.String(length=300), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_nodes_cluster_id_clusters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
        sa.UniqueConstraint("source", "name", name=op.f("uq_nodes_source_name")),
    )
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nodes_cluster_id"), ["cluster_id"], unique=False)

    op.create_table(
        "resource_specs",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cpu_millicores", sa.Integer(), nullable=False),
        sa.Column("mem_bytes", sa.BigInteger(), nullable=False),
        sa.Column("accel_model", sa.String(length=64), nullable=False),
        sa.Column("accel_count", sa.Integer(), nullable=False),
        sa.Column("vgpu_vram_gib", sa.Integer(), nullable=True),
        sa.Column("vgpu_compute_pct", sa.Integer(), nullable=True),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_resource_specs_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_specs")),
        sa.UniqueConstraint("cluster_id", "name", name=op.f("uq_resource_specs_cluster_id_name")),
    )
    with op.batch_alter_table("resource_specs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_specs_cluster_id"), ["cluster_id"], unique=False
        )

    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("node_id", sa.String(length=16), nullable=False),
        sa.Column("uuid", sa.String(length=128), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("hardware_error", sa.String(length=300), nullable=False),
        sa.Column("last_seen_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_devices_node_id_nodes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("uuid", name=op.f("uq_devices_uuid")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_node_id"), ["node_id"], unique=False)

    op.create_table(
        "queues",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("workload_types", sa.JSON(), nullable=False),
        sa.Column("spec_id", sa.String(length=16), nullable=True),
        sa.Column("instance_count", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_queues_cluster_id_clusters")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_queues_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"], ["resource_specs.id"], name=op.f("fk_queues_spec_id_resource_specs")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_queues_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_queues_tenant_id_name")),
    )
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queues_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queues_spec_id"), ["spec_id"], unique=False)

    op.create_table(
        "quotas",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("workload_types", sa.JSON(), nullable=False),
        sa.Column("spec_id", sa.String(length=16), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("borrowing", sa.Boolean(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_quotas_cluster_id_clusters")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_quotas_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"], ["resource_specs.id"], name=op.f("fk_quotas_spec_id_resource_specs")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_quotas_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotas")),
        sa.UniqueConstraint("cluster_id", "weight", name=op.f("uq_quotas_cluster_id_weight")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_quotas_tenant_id_name")),
    )
    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotas_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotas_spec_id"), ["spec_id"], unique=False)

    op.create_table(
        "queue_users",
        sa.Column("queue_id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_queue_users_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_queue_users_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("queue_id", "user_id", name=op.f("pk_queue_users")),
    )
    with op.batch_alter_table("queue_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_users_user_id"), ["user_id"], unique=False)

    op.create_table(
        "quota_admins",
        sa.Column("quota_id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["quota_id"],
            ["quotas.id"],
            name=op.f("fk_quota_admins_quota_id_quotas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_quota_admins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("quota_id", "user_id", name=op.f("pk_quota_admins")),
    )
    with op.batch_alter_table("quota_admins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_admins_user_id"), ["user_id"], unique=False)

    op.create_table(
        "quota_workspaces",
        sa.Column("quota_id", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("associated_by", sa.String(length=16), nullable=True),
        sa.Column("associated_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["associated_by"],
            ["users.id"],
            name=op.f("fk_quota_workspaces_associated_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["quota_id"],
            ["quotas.id"],
            name=op.f("fk_quota_workspaces_quota_id_quotas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_quota_workspaces_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("quota_id", "workspace_id", name=op.f("pk_quota_workspaces")),
    )
    with op.batch_alter_table("quota_workspaces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quota_workspaces_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quota_workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_workspaces_workspace_id"))

    op.drop_table("quota_workspaces")
    with op.batch_alter_table("quota_admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_admins_user_id"))

    op.drop_table("quota_admins")
    with op.batch_alter_table("queue_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_users_user_id"))

    op.drop_table("queue_users")
    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotas_spec_id"))
        batch_op.drop_index(batch_op.f("ix_quotas_cluster_id"))

    op.drop_table("quotas")
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queues_spec_id"))
        batch_op.drop_index(batch_op.f("ix_queues_cluster_id"))

    op.drop_table("queues")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_node_id"))

    op.drop_table("devices")
    with op.batch_alter_table("resource_specs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_specs_cluster_id"))

    op.drop_table("resource_specs")
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nodes_cluster_id"))

    op.drop_table("nodes")
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clusters_tenant_id"))

    op.drop_table("clusters")
