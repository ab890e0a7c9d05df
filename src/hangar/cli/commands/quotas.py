"""``hangar quotas``: resource quotas of dedicated clusters (spec 02 §5, §6)."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.commands.pools import (
    CountOpt,
    DescriptionOpt,
    SpecOpt,
    StatusOpt,
    TypeOpt,
    TypesOpt,
    UsersOpt,
    amount,
    cpu_cell,
    find_spec,
    gpu_cell,
    mem_cell,
    types,
    user_ids,
)
from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.output import Column, done, emit, record, table
from hangar.client import UNSET
from hangar.resources.schemas import QuotaRead

app = HangarTyper(help="Resource quotas: logical shares of a dedicated cluster.")

QuotaArg = Annotated[str, typer.Argument(help="Quota name or id.", show_default=False)]
WorkspacesOpt = Annotated[
    list[str] | None,
    typer.Option("--workspace", "-w", help="Workspace name or id; repeat.", show_default=False),
]
WeightOpt = Annotated[int | None, typer.Option(help="1-100, unique per cluster.")]

COLUMNS: list[Column[QuotaRead]] = [
    ("NAME", lambda q: q.name),
    ("CLUSTER", lambda q: q.cluster_name),
    ("TYPES", lambda q: q.workload_types),
    ("SPEC × N", lambda q: f"{q.spec.display} × {q.instance_count}"),
    ("GPU", lambda q: gpu_cell(q.usage)),
    ("CPU", lambda q: cpu_cell(q.usage)),
    ("MEM GIB", lambda q: mem_cell(q.usage)),
    ("WEIGHT", lambda q: q.weight),
    ("BORROW", lambda q: q.borrowing),
    ("EXCLUSIVE", lambda q: q.exclusive),
    ("STATUS", lambda q: q.status),
    ("WORKSPACES", lambda q: [w.name for w in q.workspaces]),
    ("ID", lambda q: q.id),
]


def show_quota(q: QuotaRead) -> None:
    u = q.usage
    record(
        [
            ("Name", q.name), ("Description", q.description), ("Cluster", q.cluster_name),
            ("Workload types", q.workload_types), ("Instance spec", q.spec.display),
            ("Instance count", q.instance_count), ("Total", amount(u.total)),
            ("Used", amount(u.used)), ("Borrowed", amount(u.borrowed)),
            ("Tasks", f"{u.running} running, {u.queued} queued"),
            ("Weight", q.weight), ("Idle borrowing", q.borrowing), ("Exclusive", q.exclusive),
            ("Policy", q.policy), ("Status", q.status),
            ("Admins", [a.username for a in q.admins]),
            ("Workspaces", [w.name for w in q.workspaces]), ("Id", q.id),
        ]
    )  # fmt: skip


def _emit(q: QuotaRead, output: OutputOpt) -> None:
    emit(output_format(output), q, lambda: show_quota(q))


@app.command("list")
def list_quotas(
    cluster: Annotated[str | None, typer.Option("--cluster", "-c")] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Name contains.")] = None,
    status: StatusOpt = None,
    workload_type: TypeOpt = None,
    output: OutputOpt = None,
) -> None:
    """Quotas you may see, with GPU / CPU / MEM usage (used/total)."""
    with connect() as client:
        found = client.quotas.list(
            cluster=cluster, workspace=workspace, search=search, status=status,
            workload_type=workload_type,
        )  # fmt: skip
    emit(output_format(output), found, lambda: table(found, COLUMNS, empty="no quotas"))


@app.command()
def show(quota: QuotaArg, output: OutputOpt = None) -> None:
    """One quota with its usage breakdown."""
    with connect() as client:
        _emit(client.quotas.get(quota), output)


PolicyOpt = Annotated[
    str | None,
    typer.Option(
        help="Admission: 'fifo' (strict, head-of-line blocking) or 'best_effort' (a waiting "
        "head blocks nothing behind it).",
        show_default=False,
    ),
]


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="1-200 letters, Chinese, digits, '-', '_'.")],
    cluster: Annotated[str, typer.Option("--cluster", "-c", help="Dedicated cluster.")],
    spec: SpecOpt = None,
    count: CountOpt = None,
    workload_type: TypesOpt = None,
    weight: WeightOpt = None,
    borrowing: Annotated[bool, typer.Option(help="Borrow idle capacity of other quotas.")] = False,
    exclusive: Annotated[bool, typer.Option(help="Lend nothing to other quotas.")] = True,
    description: DescriptionOpt = None,
    admin: UsersOpt = None,
    workspace: WorkspacesOpt = None,
    policy: PolicyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create a quota: spec × count of the cluster's cards, for non-default workspaces."""
    if spec is None:
        raise typer.BadParameter("pass --spec (see `hangar specs list --cluster`)")
    with connect() as client:
        target = client.clusters.get(cluster)
        made = client.quotas.create(
            name=name, cluster_id=target.id, spec_id=find_spec(client, target.id, spec).id,
            workload_types=types(workload_type), instance_count=count or 1,
            weight=weight or 1, borrowing=borrowing, exclusive=exclusive,
            description=description or "", admin_ids=user_ids(client, admin),
            workspace_ids=[client.workspaces.find(w).id for w in workspace or []],
            policy=policy or "fifo",
        )  # fmt: skip
    _emit(made, output)


@app.command()
def edit(
    quota: QuotaArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: DescriptionOpt = None,
    output: OutputOpt = None,
) -> None:
    """Change the name or description (nothing else: use resize)."""
    if name is None and description is None:
        raise typer.BadParameter("nothing to change; pass --name or --description")
    with connect() as client:
        q = client.quotas.get(quota)
        edited = client.quotas.edit(
            q.id,
            name=UNSET if name is None else name,
            description=UNSET if description is None else description,
        )
    _emit(edited, output)


@app.command()
def resize(
    quota: QuotaArg,
    spec: SpecOpt = None,
    count: CountOpt = None,
    workload_type: TypesOpt = None,
    weight: WeightOpt = None,
    borrowing: Annotated[bool | None, typer.Option(show_default=False)] = None,
    exclusive: Annotated[bool | None, typer.Option(show_default=False)] = None,
    policy: PolicyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Change types, spec, count, weight, borrowing, exclusive or the admission policy (stop
    the quota first)."""
    with connect() as client:
        q = client.quotas.get(quota)
        resized = client.quotas.resize(
            q.id,
            spec_id=find_spec(client, q.cluster_id, spec).id if spec else UNSET,
            instance_count=UNSET if count is None else count,
            workload_types=types(workload_type) if workload_type else UNSET,
            weight=UNSET if weight is None else weight,
            borrowing=UNSET if borrowing is None else borrowing,
            exclusive=UNSET if exclusive is None else exclusive,
            policy=UNSET if policy is None else policy,
        )
    _emit(resized, output)


@app.command()
def start(quota: QuotaArg, output: OutputOpt = None) -> None:
    """Accept new submissions again."""
    with connect() as client:
        _emit(client.quotas.start(client.quotas.get(quota).id), output)


@app.command()
def stop(quota: QuotaArg, output: OutputOpt = None) -> None:
    """Refuse new submissions; running tasks go on to completion."""
    with connect() as client:
        _emit(client.quotas.stop(client.quotas.get(quota).id), output)


@app.command()
def delete(quota: QuotaArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a stopped quota with no unfinished task; its cards return to the cluster."""
    with connect() as client:
        q = client.quotas.get(quota)
        if not yes:
            typer.confirm(f"Delete quota '{q.name}' ({q.id})?", abort=True)
        client.quotas.delete(q.id)
    done(output_format(output), f"Deleted quota '{q.name}'.")


@app.command()
def associate(
    quota: QuotaArg,
    workspace: Annotated[str, typer.Argument(help="Non-default workspace name or id.")],
    output: OutputOpt = None,
) -> None:
    """Let a non-default workspace use the quota."""
    with connect() as client:
        q = client.quotas.get(quota)
        _emit(client.quotas.associate(q.id, client.workspaces.find(workspace).id), output)


@app.command()
def dissociate(
    quota: QuotaArg,
    workspace: Annotated[str, typer.Argument(help="Workspace name or id.")],
    output: OutputOpt = None,
) -> None:
    """Remove an association (refused while that workspace has running or queued work)."""
    with connect() as client:
        q = client.quotas.get(quota)
        ws = client.workspaces.find(workspace)
        client.quotas.dissociate(q.id, ws.id)
    done(output_format(output), f"Workspace '{ws.name}' no longer uses quota '{q.name}'.")


@app.command()
def admins(
    quota: QuotaArg,
    user: Annotated[list[str], typer.Argument(help="Usernames or ids: the new admins.")],
    output: OutputOpt = None,
) -> None:
    """Replace the quota's admins (who manage it)."""
    with connect() as client:
        q = client.quotas.get(quota)
        _emit(client.quotas.set_admins(q.id, user_ids(client, user)), output)
