"""Clusters (spec 02 §1): who sees which, their capacity and allocation, and node assignment.

Every tenant sees the default cluster and its own dedicated clusters; the platform admin sees
all. Dedicated clusters are named node sets: the platform admin creates one for a tenant (the
"bought through sales" step of C1) and assigns nodes to it. The caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from hangar.resources.inventory import ensure_default_cluster
from hangar.resources.orm import Cluster, Device, Node, Queue, Quota, ResourceSpec
from hangar.resources.schemas import Capacity, ClusterCreate, ClusterRead, ClusterUpdate
from hangar.resources.types import ClusterKind
from hangar.resources.validation import check_description, check_name
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant

CLUSTER_NAME_MAX = 64
CLUSTER_DESCRIPTION_MAX = 300


def visible(actor: Actor, cluster: Cluster) -> bool:
    return (
        actor.user.is_platform_admin
        or cluster.tenant_id is None
        or cluster.tenant_id == actor.tenant_id
    )


def list_clusters(session: Session, *, actor: Actor) -> list[Cluster]:
    ensure_default_cluster(session)
    rows = session.scalars(select(Cluster).order_by(Cluster.name))
    # The default cluster first, then the dedicated ones by name.
    return sorted((c for c in rows if visible(actor, c)), key=lambda c: c.kind != "default")


def access_cluster(session: Session, actor: Actor, cluster_id: str) -> Cluster:
    """A cluster the actor may see; anything else is 404 (never 403), by id or by name."""
    cluster = session.get(Cluster, cluster_id) or session.scalar(
        select(Cluster).where(Cluster.name == cluster_id)
    )
    if cluster is None or not visible(actor, cluster):
        raise NotFound.of("cluster", cluster_id)
    return cluster


def lock_cluster(session: Session, cluster_id: str) -> None:
    """Serialise changes to a cluster's allocation (PostgreSQL row lock until commit).

    Two concurrent creates or resizes would otherwise both see the same unallocated cards
    and together over-commit the cluster. SQLite needs nothing: it runs one writer at a time.
    """
    session.execute(select(Cluster.id).where(Cluster.id == cluster_id).with_for_update())


@dataclass(frozen=True)
class Pool:
    """A cluster's healthy capacity and what quotas and queues hold of it (spec 02 §6)."""

    capacity: Capacity
    nodes: int
    healthy_nodes: int
    allocated_gpus: int

    @property
    def unallocated_gpus(self) -> int:
        return max(0, self.capacity.gpus - self.allocated_gpus)


def capacity(session: Session, cluster_id: str) -> Capacity:
    """Healthy, uncordoned nodes and their healthy whole cards, per model."""
    nodes = list(
        session.scalars(
            select(Node).where(
                Node.cluster_id == cluster_id, Node.healthy.is_(True), Node.cordoned.is_(False)
            )
        )
    )
    models: dict[str, int] = defaultdict(int)
    for model in session.scalars(
        select(Device.model).where(
            Device.node_id.in_([n.id for n in nodes]), Device.healthy.is_(True)
        )
    ):
        models[model] += 1
    return Capacity(
        gpus=sum(models.values()),
        gpu_models=dict(sorted(models.items())),
        cpu_millicores=sum(n.cpu_millicores for n in nodes),
        mem_bytes=sum(n.mem_bytes for n in nodes),
    )


def allocated(session: Session, cluster_id: str, *, exclude: str | None = None) -> dict[str, int]:
    """Cards per model that quotas and queues of the cluster hold (spec × count).

    ``exclude`` leaves one quota or queue out (the one being resized).
    """
    held: dict[str, int] = defaultdict(int)
    for table in (Quota, Queue):
        rows = session.execute(
            select(
                table.id, table.instance_count, ResourceSpec.accel_model, ResourceSpec.accel_count
            )
            .join(ResourceSpec, ResourceSpec.id == table.spec_id)
            .where(table.cluster_id == cluster_id)
        )
        for ident, count, model, cards in rows:
            if ident != exclude and cards:
                held[model] += (count or 0) * cards
    return dict(held)


def allocated_gpus(session: Session, cluster_id: str) -> int:
    return sum(allocated(session, cluster_id).values())


def unallocated_cards(
    session: Session, cluster_id: str, model: str, *, exclude: str | None = None
) -> int:
    """Healthy cards of ``model`` in the cluster that no quota or queue holds (spec 02 §6)."""
    total = capacity(session, cluster_id).gpu_models.get(model, 0)
    return max(0, total - allocated(session, cluster_id, exclude=exclude).get(model, 0))


def pool(session: Session, cluster: Cluster) -> Pool:
    counts = session.execute(
        select(func.count(), func.count().filter(Node.healthy.is_(True))).where(
            Node.cluster_id == cluster.id
        )
    ).one()
    return Pool(
        capacity=capacity(session, cluster.id),
        nodes=int(counts[0]),
        healthy_nodes=int(counts[1]),
        allocated_gpus=allocated_gpus(session, cluster.id),
    )


def describe(session: Session, cluster: Cluster) -> ClusterRead:
    p = pool(session, cluster)
    row = ClusterRead.model_validate(cluster)
    row.nodes, row.healthy_nodes, row.capacity = p.nodes, p.healthy_nodes, p.capacity
    row.allocated_gpus, row.unallocated_gpus = p.allocated_gpus, p.unallocated_gpus
    return row


def do_create_cluster(session: Session, *, data: ClusterCreate) -> Cluster:
    """A dedicated cluster for one tenant (platform admin). It starts with no nodes."""
    note_target("cluster", "", data.name)
    _check_cluster_name(session, data.name)
    check_description(data.description, CLUSTER_DESCRIPTION_MAX)
    tenant = session.get(Tenant, data.tenant_id)
    if tenant is None:
        raise NotFound(
            f"tenant '{data.tenant_id}' not found", fields={"tenant_id": "unknown tenant"}
        )
    cluster = Cluster(
        name=data.name,
        description=data.description,
        kind=ClusterKind.DEDICATED.value,
        tenant_id=tenant.id,
    )
    session.add(cluster)
    session.flush()
    note_target("cluster", cluster.id, cluster.name, tenant=tenant.name)
    return cluster


def do_update_cluster(session: Session, *, cluster: Cluster, data: ClusterUpdate) -> Cluster:
    note_target("cluster", cluster.id, cluster.name)
    if data.name is not None and data.name != cluster.name:
        if cluster.kind == ClusterKind.DEFAULT.value:
            raise Conflict(
                "the default cluster cannot be renamed", fields={"name": "default cluster"}
            )
        _check_cluster_name(session, data.name)
        cluster.name = data.name
    if data.description is not None:
        cluster.description = check_description(data.description, CLUSTER_DESCRIPTION_MAX)
    return cluster


def do_delete_cluster(session: Session, *, cluster: Cluster) -> None:
    """Delete a dedicated cluster with no quotas or queues; its nodes return to the default."""
    note_target("cluster", cluster.id, cluster.name)
    if cluster.kind == ClusterKind.DEFAULT.value:
        raise Conflict("the default cluster cannot be deleted")
    held = [
        f"{kind} '{name}'"
        for kind, table in (("quota", Quota), ("queue", Queue))
        for name in session.scalars(select(table.name).where(table.cluster_id == cluster.id))
    ]
    if held:
        raise Conflict(
            f"cluster '{cluster.name}' still holds {', '.join(held[:5])}"
            f"{' and more' if len(held) > 5 else ''}; delete them first",
            fields={"cluster_id": "has quotas or queues"},
        )
    default = ensure_default_cluster(session)
    for node in session.scalars(select(Node).where(Node.cluster_id == cluster.id)):
        node.cluster_id = default.id
    session.flush()
    session.delete(cluster)


def do_assign_node(session: Session, *, node: Node, cluster: Cluster) -> Node:
    """Move a node into ``cluster``. Refused when its old cluster would then hold fewer cards
    than its quotas and queues have been given."""
    note_target("node", node.id, node.name, cluster=cluster.name)
    if node.cluster_id == cluster.id:
        return node
    old = session.get(Cluster, node.cluster_id)
    assert old is not None
    for ident in sorted((old.id, cluster.id)):  # a fixed order: no lock-order deadlock
        lock_cluster(session, ident)
    node.cluster_id = cluster.id
    session.flush()
    left = capacity(session, old.id).gpu_models
    for model, held in sorted(allocated(session, old.id).items()):
        if held > left.get(model, 0):
            raise Conflict(
                f"moving node '{node.name}' would leave cluster '{old.name}' with "
                f"{left.get(model, 0)} {model} card(s) while its quotas and queues hold {held}; "
                "shrink or delete them first",
                fields={"cluster_id": "would over-commit the old cluster"},
            )
    return node


def _check_cluster_name(session: Session, name: str) -> None:
    check_name(name)
    if len(name) > CLUSTER_NAME_MAX:
        raise ValidationFailed.field(
            "name", f"must be at most {CLUSTER_NAME_MAX} characters (got {len(name)})"
        )
    if session.scalar(select(func.count()).select_from(Cluster).where(Cluster.name == name)):
        raise AlreadyExists(
            f"a cluster named '{name}' already exists; cluster names are unique",
            fields={"name": "already exists"},
        )
