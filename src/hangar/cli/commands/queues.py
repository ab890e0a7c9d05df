"""``hangar queues``: the built-in default queue and queues of dedicated clusters (spec 02 §4)."""

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
from hangar.resources.schemas import QueueRead

app = HangarTyper(help="Queues: hard partitions used by the default workspace.")

QueueArg = Annotated[str, typer.Argument(help="Queue name or id.", show_default=False)]
MembersOpt = Annotated[
    list[str] | None,
    typer.Option("--member", "-m", help="Username or id; repeat.", show_default=False),
]

COLUMNS: list[Column[QueueRead]] = [
    ("NAME", lambda q: q.name + (" (built-in)" if q.builtin else "")),
    ("CLUSTER", lambda q: q.cluster_name),
    ("TYPES", lambda q: q.workload_types),
    ("SPEC × N", lambda q: f"{q.spec.display} × {q.instance_count}" if q.spec else "on demand"),
    ("GPU", lambda q: gpu_cell(q.usage)),
    ("CPU", lambda q: cpu_cell(q.usage)),
    ("MEM GIB", lambda q: mem_cell(q.usage)),
    ("STATUS", lambda q: q.status),
    ("ID", lambda q: q.id),
]


def show_queue(q: QueueRead) -> None:
    u = q.usage
    record(
        [
            ("Name", q.name), ("Description", q.description), ("Built-in", q.builtin),
            ("Cluster", q.cluster_name), ("Workload types", q.workload_types),
            ("Instance spec", q.spec.display if q.spec else "on demand"),
            ("Instance count", q.instance_count), ("Total", amount(u.total)),
            ("Used", amount(u.used)), ("Tasks", f"{u.running} running, {u.queued} queued"),
            ("Status", q.status), ("Workspace", q.workspace.name if q.workspace else None),
            ("Users", [f"{x.username} ({x.role})" for x in q.users]), ("Id", q.id),
        ]
    )  # fmt: skip


def _emit(q: QueueRead, output: OutputOpt) -> None:
    emit(output_format(output), q, lambda: show_queue(q))


@app.command("list")
def list_queues(
    cluster: Annotated[str | None, typer.Option("--cluster", "-c")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
    status: StatusOpt = None,
    workload_type: TypeOpt = None,
    output: OutputOpt = None,
) -> None:
    """Queues you may see, the built-in default queue first."""
    with connect() as client:
        found = client.queues.list(
            cluster=cluster, search=search, status=status, workload_type=workload_type
        )
    emit(output_format(output), found, lambda: table(found, COLUMNS, empty="no queues"))


@app.command()
def show(queue: QueueArg, output: OutputOpt = None) -> None:
    with connect() as client:
        _emit(client.queues.get(queue), output)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="1-200 letters, Chinese, digits, '-', '_'.")],
    cluster: Annotated[str, typer.Option("--cluster", "-c", help="Dedicated cluster.")],
    spec: SpecOpt = None,
    count: CountOpt = None,
    workload_type: TypesOpt = None,
    description: DescriptionOpt = None,
    admin: UsersOpt = None,
    member: MembersOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create a queue: spec × count is its ceiling; it never borrows."""
    if spec is None:
        raise typer.BadParameter("pass --spec (see `hangar specs list --cluster`)")
    with connect() as client:
        target = client.clusters.get(cluster)
        made = client.queues.create(
            name=name, cluster_id=target.id, spec_id=find_spec(client, target.id, spec).id,
            workload_types=types(workload_type), instance_count=count or 1,
            description=description or "", admin_ids=user_ids(client, admin),
            member_ids=user_ids(client, member),
        )  # fmt: skip
    _emit(made, output)


@app.command()
def edit(
    queue: QueueArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: DescriptionOpt = None,
    output: OutputOpt = None,
) -> None:
    """Change the name or description."""
    if name is None and description is None:
        raise typer.BadParameter("nothing to change; pass --name or --description")
    with connect() as client:
        q = client.queues.get(queue)
        _emit(
            client.queues.edit(
                q.id,
                name=UNSET if name is None else name,
                description=UNSET if description is None else description,
            ),
            output,
        )


@app.command()
def resize(
    queue: QueueArg,
    spec: SpecOpt = None,
    count: CountOpt = None,
    workload_type: TypesOpt = None,
    output: OutputOpt = None,
) -> None:
    """Change types, spec (no running or queued task) or count."""
    with connect() as client:
        q = client.queues.get(queue)
        resized = client.queues.resize(
            q.id,
            spec_id=find_spec(client, q.cluster_id, spec).id if spec else UNSET,
            instance_count=UNSET if count is None else count,
            workload_types=types(workload_type) if workload_type else UNSET,
        )
    _emit(resized, output)


@app.command()
def start(queue: QueueArg, output: OutputOpt = None) -> None:
    with connect() as client:
        _emit(client.queues.start(client.queues.get(queue).id), output)


@app.command()
def stop(queue: QueueArg, output: OutputOpt = None) -> None:
    """Refuse new submissions; running tasks go on to completion."""
    with connect() as client:
        _emit(client.queues.stop(client.queues.get(queue).id), output)


@app.command()
def delete(queue: QueueArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a stopped queue whose tasks have all finished."""
    with connect() as client:
        q = client.queues.get(queue)
        if not yes:
            typer.confirm(f"Delete queue '{q.name}' ({q.id})?", abort=True)
        client.queues.delete(q.id)
    done(output_format(output), f"Deleted queue '{q.name}'.")


@app.command()
def users(
    queue: QueueArg, admin: UsersOpt = None, member: MembersOpt = None, output: OutputOpt = None
) -> None:
    """Replace the queue's users: admins manage it, members only use it."""
    with connect() as client:
        q = client.queues.get(queue)
        admins = user_ids(client, admin) or [client.whoami().id]
        _emit(
            client.queues.set_users(q.id, admins=admins, members=user_ids(client, member)), output
        )
