"""Allocation history, storage peaks, billing policies and alerts, generic meter records

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:50:54.642796
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hangar.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meter_records",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=True),
        sa.Column("user_id", sa.String(length=16), nullable=True),
        sa.Column("meter", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=48), nullable=False),
        sa.Column("at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=False),
        sa.Column("created_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_records")),
        sa.UniqueConstraint("key", name=op.f("uq_meter_records_key")),
    )
    with op.batch_alter_table("meter_records", schema=None) as batch_op:
        batch_op.create_index("ix_meter_records_at", ["at"], unique=False)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_period_start", ["period_start"], unique=False)
    op.create_table(
        "allocation_changes",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("gpu_model", sa.String(length=64), nullable=False),
        sa.Column("cards", sa.String(length=48), nullable=False),
        sa.Column("at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_changes")),
    )
    with op.batch_alter_table("allocation_changes", schema=None) as batch_op:
        batch_op.create_index("ix_allocation_changes_tenant_at", ["tenant_id", "at"], unique=False)
        batch_op.create_index(
            "ix_allocation_changes_workspace_at", ["workspace_id", "at"], unique=False
        )

    op.create_table(
        "billing_alerts",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_billing_alerts")),
    )
    with op.batch_alter_table("billing_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_billing_alerts_tenant_at", ["tenant_id", "at"], unique=False)

    op.create_table(
        "storage_peaks",
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=16), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("peak_bytes", sa.BigInteger(), nullable=False),
        sa.Column("last_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sampled_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner_id", "day", name=op.f("pk_storage_peaks")),
    )
    with op.batch_alter_table("storage_peaks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storage_peaks_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "billing_policies",
        sa.Column("tenant_id", sa.String(length=16), nullable=False),
        sa.Column("min_balance", sa.String(length=48), nullable=True),
        sa.Column("min_balance_unit", sa.String(length=8), nullable=False),
        sa.Column("exhausted_action", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=16), nullable=True),
        sa.Column("updated_at", hangar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_billing_policies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_billing_policies")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("meter_records")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_period_start")
    op.drop_table("billing_policies")
    with op.batch_alter_table("storage_peaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_peaks_tenant_id"))

    op.drop_table("storage_peaks")
    with op.batch_alter_table("billing_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_alerts_tenant_at")

    op.drop_table("billing_alerts")
    with op.batch_alter_table("allocation_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_changes_workspace_at")
        batch_op.drop_index("ix_allocation_changes_tenant_at")

    op.drop_table("allocation_changes")
    # ### end Alembic commands ###
