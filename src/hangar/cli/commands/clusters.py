"""``hangar clusters``, ``hangar nodes``, ``hangar devices``, ``hangar specs``: the inventory."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.output import Column, done, emit, record, table
from hangar.client import HangarClient, HangarLookupError
from hangar.errors import ValidationFailed
from hangar.resources.schemas import ClusterRead, DeviceRead, NodeRead, SpecRead
from hangar.resources.types import Source
from hangar.scheduling.specs import SPEC_FORMATS, parse_spec

GIB = 1024**3

clusters = HangarTyper(help="Clusters: the default cluster and dedicated node sets.")
nodes = HangarTyper(help="Nodes (machines) and the cluster each belongs to.")
devices = HangarTyper(help="Accelerator devices, DISCOVERED or DECLARED.")
specs = HangarTyper(help="Resource specs of a cluster (explicit records).")

ClusterOpt = Annotated[
    str | None, typer.Option("--cluster", "-c", help="Cluster name or id.", show_default=False)
]
ClusterArg = Annotated[str, typer.Argument(help="Cluster name or id.", show_default=False)]


def gib(value: int) -> str:
    return f"{value / GIB:g}"


def cores(millicores: int) -> str:
    return f"{millicores / 1000:g}"


def cards(models: dict[str, int]) -> str:
    return ", ".join(f"{n} × {m}" for m, n in models.items()) or "-"


def device_summary(found: list[DeviceRead]) -> str:
    """``8 × H800 (DECLARED)``, grouped by model and source; unhealthy ones counted apart."""
    groups: dict[tuple[str, str], int] = {}
    for d in found:
        key = (d.model, d.source.value if d.healthy else f"{d.source.value}, unhealthy")
        groups[key] = groups.get(key, 0) + 1
    return ", ".join(f"{n} × {m} ({s})" for (m, s), n in groups.items()) or "-"


CLUSTER_COLUMNS: list[Column[ClusterRead]] = [
    ("NAME", lambda c: c.name),
    ("KIND", lambda c: c.kind),
    ("NODES", lambda c: f"{c.healthy_nodes}/{c.nodes} healthy"),
    ("GPUS", lambda c: cards(c.capacity.gpu_models)),
    ("CPU CORES", lambda c: cores(c.capacity.cpu_millicores)),
    ("MEM GIB", lambda c: gib(c.capacity.mem_bytes)),
    ("ALLOCATED", lambda c: c.allocated_gpus),
    ("UNALLOCATED", lambda c: c.unallocated_gpus),
    ("ID", lambda c: c.id),
]
NODE_COLUMNS: list[Column[NodeRead]] = [
    ("NAME", lambda n: n.name),
    ("CLUSTER", lambda n: n.cluster_name),
    ("HEALTHY", lambda n: n.healthy),
    ("CPU CORES", lambda n: cores(n.cpu_millicores)),
    ("MEM GIB", lambda n: gib(n.mem_bytes)),
    ("DEVICES", lambda n: device_summary(n.devices)),
    ("BACKEND", lambda n: n.backend),
    ("ID", lambda n: n.id),
]
DEVICE_COLUMNS: list[Column[DeviceRead]] = [
    ("NODE", lambda d: d.node_name),
    ("INDEX", lambda d: d.index),
    ("MODEL", lambda d: d.model),
    ("VRAM GIB", lambda d: gib(d.memory_bytes)),
    ("SOURCE", lambda d: d.source),
    ("HEALTHY", lambda d: d.healthy),
    ("UUID", lambda d: d.uuid),
]
SPEC_COLUMNS: list[Column[SpecRead]] = [
    ("NAME", lambda s: s.name),
    ("SPEC", lambda s: s.display),
    ("CPU CORES", lambda s: cores(s.cpu_millicores)),
    ("MEM GIB", lambda s: gib(s.mem_bytes)),
    ("CARDS", lambda s: f"{s.accel_count} × {s.accel_model}" if s.accel_count else "-"),
    ("ID", lambda s: s.id),
]


def show_cluster(c: ClusterRead) -> None:
    record(
        [
            ("Name", c.name), ("Kind", c.kind), ("Description", c.description),
            ("Nodes", f"{c.healthy_nodes} healthy of {c.nodes}"),
            ("GPUs", cards(c.capacity.gpu_models)),
            ("CPU cores", cores(c.capacity.cpu_millicores)),
            ("Memory GiB", gib(c.capacity.mem_bytes)),
            ("Allocated cards", c.allocated_gpus), ("Unallocated cards", c.unallocated_gpus),
            ("Tenant", c.tenant_id), ("Id", c.id),
        ]
    )  # fmt: skip


@clusters.command("list")
def list_clusters(output: OutputOpt = None) -> None:
    """The default cluster and your organisation's dedicated clusters, with capacity."""
    with connect() as client:
        found = client.clusters.list()
    emit(output_format(output), found, lambda: table(found, CLUSTER_COLUMNS, empty="no clusters"))


@clusters.command()
def show(cluster: ClusterArg, output: OutputOpt = None) -> None:
    """One cluster."""
    with connect() as client:
        found = client.clusters.get(cluster)
    emit(output_format(output), found, lambda: show_cluster(found))


@clusters.command()
def create(
    name: Annotated[str, typer.Argument(help="Letters, Chinese, digits, '-', '_'.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id that bought it.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    output: OutputOpt = None,
) -> None:
    """Create a dedicated cluster for a tenant (platform admin); then assign nodes to it."""
    with connect() as client:
        made = client.clusters.create(name=name, tenant_id=tenant, description=description)
    emit(output_format(output), made, lambda: show_cluster(made))


@clusters.command()
def delete(cluster: ClusterArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a dedicated cluster without quotas or queues; its nodes return to the default."""
    with connect() as client:
        found = client.clusters.get(cluster)
        if not yes:
            typer.confirm(f"Delete cluster '{found.name}' ({found.id})?", abort=True)
        client.clusters.delete(found.id)
    done(output_format(output), f"Deleted cluster '{found.name}'.")


@nodes.command("list")
def list_nodes(cluster: ClusterOpt = None, output: OutputOpt = None) -> None:
    """Nodes with their devices; each device group says DISCOVERED or DECLARED."""
    with connect() as client:
        found = client.nodes.list(cluster=cluster)
    emit(output_format(output), found, lambda: table(found, NODE_COLUMNS, empty="no nodes"))


@nodes.command()
def assign(
    node: Annotated[str, typer.Argument(help="Node name or id.")],
    cluster: Annotated[str, typer.Option("--cluster", "-c", help="Target cluster name or id.")],
    output: OutputOpt = None,
) -> None:
    """Move a node into a cluster (platform admin)."""
    with connect() as client:
        target = client.clusters.get(cluster)
        found = _node(client, node)
        moved = client.nodes.assign(found.id, cluster_id=target.id)
    emit(
        output_format(output),
        moved,
        lambda: table([moved], NODE_COLUMNS, empty=""),
    )


def _node(client: HangarClient, ref: str) -> NodeRead:
    listed = client.nodes.list()
    for n in listed:
        if ref in (n.name, n.id):
            return n
    raise HangarLookupError("node", ref, f"node '{ref}' not found")


@devices.command("list")
def list_devices(
    cluster: ClusterOpt = None,
    source: Annotated[
        Source | None, typer.Option(help="DISCOVERED or DECLARED.", case_sensitive=False)
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Accelerators of the nodes you may see; DECLARED ones are not real hardware."""
    with connect() as client:
        found = client.nodes.devices(cluster=cluster, source=source)
    emit(output_format(output), found, lambda: table(found, DEVICE_COLUMNS, empty="no devices"))


@specs.command("list")
def list_specs(cluster: ClusterOpt = None, output: OutputOpt = None) -> None:
    """Resource specs, e.g. 21C_175G_1*H800, 2C8G, 2*(L40S(eGPU)_5G_1C_8G)."""
    with connect() as client:
        found = client.specs.list(cluster=cluster)
    emit(output_format(output), found, lambda: table(found, SPEC_COLUMNS, empty="no specs"))


@specs.command("create")
def create_spec(
    spec: Annotated[str, typer.Argument(help=f"The spec string: {SPEC_FORMATS}.")],
    cluster: Annotated[str, typer.Option("--cluster", "-c", help="Cluster name or id.")],
    name: Annotated[str, typer.Option(help="Default: the spec string.")] = "",
    compute_pct: Annotated[
        int | None, typer.Option(help="vGPU compute share, 1-100 (optional).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Define a spec of a cluster; its cards must be a model the cluster has."""
    try:
        parsed = parse_spec(spec, field="SPEC")
    except ValidationFailed as err:
        raise typer.BadParameter(err.fields.get("SPEC", err.message), param_hint="SPEC") from None
    with connect() as client:
        target = client.clusters.get(cluster)
        made = client.specs.create(
            cluster_id=target.id, name=name, cpu_millicores=parsed.cpu_millicores,
            mem_bytes=parsed.mem_bytes, accel_model=parsed.accel_model or "",
            accel_count=parsed.accel_count,
            vgpu_vram_gib=parsed.vgpu.vram_gib if parsed.vgpu else None,
            vgpu_compute_pct=compute_pct,
        )  # fmt: skip
    emit(output_format(output), made, lambda: table([made], SPEC_COLUMNS, empty=""))


@specs.command("delete")
def delete_spec(
    spec: Annotated[str, typer.Argument(help="Spec id.")], output: OutputOpt = None
) -> None:
    """Delete a spec no quota or queue uses."""
    with connect() as client:
        client.specs.delete(spec)
    done(output_format(output), f"Deleted spec '{spec}'.")
