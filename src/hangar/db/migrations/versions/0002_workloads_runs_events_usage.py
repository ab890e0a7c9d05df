"""workloads runs events usage

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:09:38.164330
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hangar.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workloads",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("quota_id", sa.String(length=16), nullable=True),
        sa.Column("queue_id", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("restart_count", sa.Integer(), nullable=False),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_expires_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_workloads_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_workloads_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workloads_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workloads")),
    )
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workloads_created_by"), ["created_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_workloads_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workloads_quota_id"), ["quota_id"], unique=False)
        batch_op.create_index(
            "ix_workloads_state_submitted", ["state", "submitted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_workloads_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index("ix_workloads_workspace_kind", ["workspace_id", "kind"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("workload_id", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("borrowed", sa.JSON(), nullable=False),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workload_id"],
            ["workloads.id"],
            name=op.f("fk_runs_workload_id_workloads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_workload_id"), ["workload_id"], unique=False)

    op.create_table(
        "workload_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workload_id", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=True),
        sa.Column("at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workload_id"],
            ["workloads.id"],
            name=op.f("fk_workload_events_workload_id_workloads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workload_events")),
    )
    with op.batch_alter_table("workload_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workload_events_workload_id"), ["workload_id"], unique=False
        )

    op.create_table(
        "run_nodes",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("node_name", sa.String(length=128), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("handle", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("started_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_nodes_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_nodes")),
    )
    with op.batch_alter_table("run_nodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_nodes_run_id"), ["run_id"], unique=False)

    op.create_table(
        "usage_intervals",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=False),
        sa.Column("workload_id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=True),
        sa.Column("quota_id", sa.String(length=16), nullable=True),
        sa.Column("node_name", sa.String(length=128), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("gpu_model", sa.String(length=64), nullable=False),
        sa.Column("vgpu_vram_gib", sa.Integer(), nullable=False),
        sa.Column("cpu_millicores", sa.Integer(), nullable=False),
        sa.Column("mem_bytes", sa.BigInteger(), nullable=False),
        sa.Column("started_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", hangar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_usage_intervals_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_intervals")),
        sa.UniqueConstraint("key", name=op.f("uq_usage_intervals_key")),
    )
    with op.batch_alter_table("usage_intervals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_intervals_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_usage_intervals_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_usage_intervals_workload_id"), ["workload_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_intervals_workload_id"))
        batch_op.drop_index(batch_op.f("ix_usage_intervals_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_usage_intervals_run_id"))

    op.drop_table("usage_intervals")
    with op.batch_alter_table("run_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_nodes_run_id"))

    op.drop_table("run_nodes")
    with op.batch_alter_table("workload_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workload_events_workload_id"))

    op.drop_table("workload_events")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_workload_id"))

    op.drop_table("runs")
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.drop_index("ix_workloads_workspace_kind")
        batch_op.drop_index(batch_op.f("ix_workloads_workspace_id"))
        batch_op.drop_index("ix_workloads_state_submitted")
        batch_op.drop_index(batch_op.f("ix_workloads_quota_id"))
        batch_op.drop_index(batch_op.f("ix_workloads_queue_id"))
        batch_op.drop_index(batch_op.f("ix_workloads_created_by"))

    op.drop_table("workloads")
