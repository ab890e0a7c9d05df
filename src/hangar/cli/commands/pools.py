"""What ``hangar quotas`` and ``hangar queues`` share: lookups, options and usage cells."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.client import HangarClient, HangarLookupError
from hangar.resources.schemas import Amount, SpecRead, Usage
from hangar.resources.types import Status, WorkloadType

GIB = 1024**3

TypesOpt = Annotated[
    list[WorkloadType] | None,
    typer.Option(
        "--type", "-t", help="Workload type; repeat for several.", case_sensitive=False,
        show_default=False,
    ),
]  # fmt: skip
TypeOpt = Annotated[
    WorkloadType | None,
    typer.Option(
        "--type", "-t", help="Only those allowing this workload type.", show_default=False
    ),
]
StatusOpt = Annotated[
    Status | None,
    typer.Option(help="started or stopped.", case_sensitive=False, show_default=False),
]
SpecOpt = Annotated[
    str | None,
    typer.Option(
        "--spec", "-s", help="Spec id, name or string (21C_175G_1*H800) of the cluster.",
        show_default=False,
    ),
]  # fmt: skip
CountOpt = Annotated[
    int | None, typer.Option("--count", "-n", help="Instance count.", show_default=False)
]
UsersOpt = Annotated[
    list[str] | None,
    typer.Option("--admin", "-a", help="Username or id; repeat. Default: you.", show_default=False),
]
DescriptionOpt = Annotated[str | None, typer.Option("--description", "-d", show_default=False)]


def find_spec(client: HangarClient, cluster_id: str, ref: str) -> SpecRead:
    """A spec of the cluster by id, name or display string."""
    for spec in client.specs.list(cluster=cluster_id):
        if ref in (spec.id, spec.name, spec.display):
            return spec
    raise HangarLookupError(
        "spec", ref, f"spec '{ref}' not found in that cluster; see `hangar specs list --cluster`"
    )


def user_ids(client: HangarClient, refs: list[str] | None) -> list[str]:
    return [client.users.find(ref).id for ref in refs or []]


def types(values: list[WorkloadType] | None) -> list[str]:
    return [t.value for t in values or []]


def cell(used: int, total: int) -> str:
    return f"{used}/{total}"


def gpu_cell(u: Usage) -> str:
    borrowed = f" (+{u.borrowed.gpus} borrowed)" if u.borrowed.gpus else ""
    return cell(u.used.gpus, u.total.gpus) + borrowed


def cpu_cell(u: Usage) -> str:
    return f"{u.used.cpu_millicores / 1000:g}/{u.total.cpu_millicores / 1000:g}"


def mem_cell(u: Usage) -> str:
    return f"{u.used.mem_bytes / GIB:g}/{u.total.mem_bytes / GIB:g}"


def amount(a: Amount) -> str:
    return f"{a.gpus} GPUs, {a.cpu_millicores / 1000:g} CPU cores, {a.mem_bytes / GIB:g} GiB"
