"""Resource specs as explicit records of one cluster (spec 02 §3, decision B7).

The rules of a spec's shape and its display string live in :mod:`hangar.scheduling.specs`;
this module stores specs, checks them against their cluster's cards, and reads them back.
The caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationFailed
from hangar.resources.clusters import access_cluster, capacity, list_clusters
from hangar.resources.orm import Cluster, Device, Node, Queue, Quota, ResourceSpec
from hangar.resources.schemas import SpecCreate, SpecRead
from hangar.resources.types import ClusterKind
from hangar.scheduling.specs import Spec, VgpuSlice
from hangar.scheduling.vgpu import CardShare, validate_slice
from hangar.tenancy.access import Actor

SPEC_NAME_MAX = 64
MILLI = 1000
GIB = 1024**3


def to_spec(row: ResourceSpec) -> Spec:
    """The stored record as the scheduler's value type."""
    if row.vgpu_vram_gib is not None:
        count = max(1, row.accel_count)
        return Spec.virtual(
            row.accel_model,
            count,
            VgpuSlice(
                vram_gib=row.vgpu_vram_gib,
                cpu_cores=row.cpu_millicores // MILLI // count,
                mem_gib=row.mem_bytes // GIB // count,
                compute_percent=row.vgpu_compute_pct,
            ),
        )
    return Spec(row.cpu_millicores, row.mem_bytes, row.accel_count, row.accel_model or None)


def read(row: ResourceSpec) -> SpecRead:
    out = SpecRead.model_validate(row)
    out.display = to_spec(row).display()
    return out


def list_specs(session: Session, *, actor: Actor, cluster: Cluster | None = None) -> list[SpecRead]:
    ids = [cluster.id] if cluster else [c.id for c in list_clusters(session, actor=actor)]
    rows = session.scalars(
        select(ResourceSpec)
        .where(ResourceSpec.cluster_id.in_(ids))
        .order_by(ResourceSpec.cluster_id, ResourceSpec.accel_count, ResourceSpec.cpu_millicores)
    )
    return [read(r) for r in rows]


def access_spec(session: Session, actor: Actor, spec_id: str) -> ResourceSpec:
    row = session.get(ResourceSpec, spec_id)
    if row is None:
        raise NotFound.of("spec", spec_id)
    access_cluster(session, actor, row.cluster_id)  # 404 when its cluster is invisible
    return row


def may_manage(actor: Actor, cluster: Cluster) -> bool:
    """The platform admin manages every cluster's specs; tenant admins their dedicated ones."""
    if actor.user.is_platform_admin:
        return True
    return (
        actor.is_tenant_admin
        and cluster.kind == ClusterKind.DEDICATED.value
        and cluster.tenant_id == actor.tenant_id
    )


def check_manage(actor: Actor, cluster: Cluster) -> None:
    if not may_manage(actor, cluster):
        raise PermissionDenied(
            f"only the platform admin may define specs of the {cluster.kind} cluster "
            f"'{cluster.name}'; tenant admins define specs of their own dedicated clusters"
        )


def do_create_spec(session: Session, *, actor: Actor, data: SpecCreate) -> ResourceSpec:
    cluster = access_cluster(session, actor, data.cluster_id)
    check_manage(actor, cluster)
    spec = _spec_of(data)
    name = data.name or spec.display()
    note_target("spec", "", name, cluster=cluster.name)
    _check_name(session, cluster, name)
    if spec.accel_count:
        _check_model(session, cluster, spec)
    row = ResourceSpec(
        cluster_id=cluster.id,
        name=name,
        cpu_millicores=spec.cpu_millicores,
        mem_bytes=spec.mem_bytes,
        accel_model=spec.accel_model or "",
        accel_count=spec.accel_count,
        vgpu_vram_gib=spec.vgpu.vram_gib if spec.vgpu else None,
        vgpu_compute_pct=spec.vgpu.compute_percent if spec.vgpu else None,
    )
    session.add(row)
    session.flush()
    note_target("spec", row.id, row.name, cluster=cluster.name, display=spec.display())
    return row


def do_delete_spec(session: Session, *, actor: Actor, row: ResourceSpec) -> None:
    cluster = access_cluster(session, actor, row.cluster_id)
    note_target("spec", row.id, row.name, cluster=cluster.name)
    check_manage(actor, cluster)
    users = [
        f"{kind} '{name}'"
        for kind, table in (("quota", Quota), ("queue", Queue))
        for name in session.scalars(select(table.name).where(table.spec_id == row.id))
    ]
    if users:
        raise Conflict(
            f"spec '{row.name}' is used by {', '.join(users[:5])}; resize them to another "
            "spec first",
            fields={"spec_id": "in use"},
        )
    session.delete(row)


def _spec_of(data: SpecCreate) -> Spec:
    if data.vgpu_vram_gib is None:
        if data.vgpu_compute_pct is not None:
            raise ValidationFailed.field(
                "vgpu_compute_pct", "needs vgpu_vram_gib: a compute share slices a virtual GPU"
            )
        return Spec(data.cpu_millicores, data.mem_bytes, data.accel_count, data.accel_model or None)
    count = data.accel_count
    if count < 1:
        raise ValidationFailed.field(
            "accel_count", "a virtual GPU spec needs at least 1 virtual card"
        )
    if data.cpu_millicores % (count * MILLI) or data.mem_bytes % (count * GIB):
        raise ValidationFailed.field(
            "cpu_millicores",
            f"a virtual GPU spec gives each of its {count} virtual cards whole CPU cores and "
            "whole GiB: use multiples of the card count",
        )
    return Spec.virtual(
        data.accel_model,
        count,
        VgpuSlice(
            vram_gib=data.vgpu_vram_gib,
            cpu_cores=data.cpu_millicores // MILLI // count,
            mem_gib=data.mem_bytes // GIB // count,
            compute_percent=data.vgpu_compute_pct,
        ),
    )


def _check_name(session: Session, cluster: Cluster, name: str) -> None:
    if len(name) > SPEC_NAME_MAX:
        raise ValidationFailed.field(
            "name", f"must be at most {SPEC_NAME_MAX} characters (got {len(name)})"
        )
    taken = session.scalar(
        select(func.count())
        .select_from(ResourceSpec)
        .where(ResourceSpec.cluster_id == cluster.id, ResourceSpec.name == name)
    )
    if taken:
        raise AlreadyExists(
            f"cluster '{cluster.name}' already has a spec named '{name}'",
            fields={"name": "already exists"},
        )


def _check_model(session: Session, cluster: Cluster, spec: Spec) -> None:
    models = capacity(session, cluster.id).gpu_models
    if spec.accel_model not in models:
        have = ", ".join(models) or "no healthy cards"
        raise ValidationFailed.field(
            "accel_model",
            f"cluster '{cluster.name}' has no {spec.accel_model} cards (it has: {have}); "
            "use one of its card models",
        )
    if spec.vgpu is not None:
        card, node_cards = card_share(session, cluster, spec.accel_model or "")
        validate_slice(card, spec.accel_count, spec.vgpu, node_cards=node_cards)


def card_share(session: Session, cluster: Cluster, model: str) -> tuple[CardShare, int]:
    """The ``model`` card as the cluster's best-equipped node offers it (spec 02 §9): its
    VRAM, the node's CPU and memory divided by its cards of that model, and that card count.
    """
    best: tuple[int, Node, int] | None = None
    for node, cards, vram in session.execute(
        select(Node, func.count(Device.id), func.min(Device.memory_bytes))
        .join(Device, Device.node_id == Node.id)
        .where(Node.cluster_id == cluster.id, Node.healthy.is_(True))
        .where(Device.model == model, Device.healthy.is_(True))
        .group_by(Node.id)
    ):
        if best is None or cards > best[0]:
            best = (int(cards), node, int(vram or 0))
    if best is None:
        raise ValidationFailed.field(
            "accel_model", f"cluster '{cluster.name}' has no healthy {model} cards"
        )
    cards, node, vram = best
    share = CardShare(
        model=model,
        vram_gib=vram // GIB,
        cpu_cores=node.cpu_millicores // MILLI // cards,
        mem_gib=node.mem_bytes // GIB // cards,
    )
    return share, cards
