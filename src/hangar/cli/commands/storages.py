"""``hangar storage``: the tenant's free platform storage and the external storages
(tenant folders and S3-compatible buckets) that datasets and code packages point at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import emit, record, say, table

app = HangarTyper(help="External storages: tenant folders and buckets datasets may point at.")
StorageArg = Annotated[str, typer.Argument(help="Storage id or name.", show_default=False)]


@app.command()
def quota(
    tenant: Annotated[str, typer.Argument(help="Tenant id or name.")],
    gib: Annotated[int, typer.Argument(help="Free platform storage, GiB.")],
    output: OutputOpt = None,
) -> None:
    """Set a tenant's free platform storage (platform admin)."""
    with connect() as client:
        found = next((t for t in client.tenants.list() if tenant in (t.id, t.name)), None)
        if found is None:
            raise typer.BadParameter(f"no tenant '{tenant}'", param_hint="TENANT")
        made = client.tenants.set_storage_quota(found.id, gib)
    line = f"{made.name}: {made.storage_quota_gib} GiB free platform storage"
    emit(output_format(output), made, lambda: say(line))


@app.command("list")
def list_storages(output: OutputOpt = None) -> None:
    """The tenant's registered storages."""
    with connect() as client:
        found = client.storages.list()
    emit(output_format(output), found, lambda: table(found, [
        ("NAME", lambda s: s.name), ("KIND", lambda s: s.kind), ("ROOT", lambda s: s.root),
        ("CLUSTER", lambda s: s.cluster_id), ("CREATED", lambda s: s.created_at),
        ("ID", lambda s: s.id)], empty="no storages"))  # fmt: skip


@app.command()
def usage(output: OutputOpt = None) -> None:
    """The tenant's free platform storage: quota, used, left (models, datasets, code)."""
    with connect() as client:
        found = client.storages.platform()
    gib = 1024**3
    emit(output_format(output), found, lambda: record([
        ("Quota", f"{found.quota_bytes / gib:.2f} GiB"),
        ("Used", f"{found.used_bytes / gib:.2f} GiB"),
        ("Free", f"{found.free_bytes / gib:.2f} GiB")]))  # fmt: skip


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="Unique in the tenant (rule N1).")],
    root: Annotated[str, typer.Argument(
        help="filesystem: the absolute folder it is mounted at on the nodes; s3: the bucket.")],
    cluster: Annotated[str | None, typer.Option(help="Cluster id (default: the first).")] = None,
    kind: Annotated[str, typer.Option(help="filesystem or s3.")] = "filesystem",
    endpoint_url: Annotated[str, typer.Option(
        help="s3: the endpoint, e.g. https://minio.lab:9000 (empty: AWS S3).")] = "",
    region: Annotated[str, typer.Option(help="s3: the bucket's region.")] = "us-east-1",
    access_key_id: Annotated[str, typer.Option(help="s3: the access key id.")] = "",
    secret_file: Annotated[Path | None, typer.Option(
        help="s3: a file holding the secret key (default: asked for, not echoed; or "
        "HANGAR_S3_SECRET_ACCESS_KEY).")] = None,
    output: OutputOpt = None,
) -> None:  # fmt: skip
    """Register a storage (admins). An s3 bucket is checked with its key before it is saved;
    the secret key is sealed on the server and never shown again."""
    secret = ""
    if kind == "s3":
        secret = _secret(secret_file)
    with connect() as client:
        cluster_id = cluster or client.clusters.list()[0].id
        made = client.storages.register(
            cluster_id=cluster_id, name=name, root=root, kind=kind, endpoint_url=endpoint_url,
            region=region, access_key_id=access_key_id, secret_access_key=secret,
        )  # fmt: skip
    emit(output_format(output), made, lambda: say(f"registered storage {made.name} ({made.id})"))


def _secret(secret_file: Path | None) -> str:
    """The secret key: from a file, the environment, or asked for (never an argument, which
    would stay in the shell's history and the process list)."""
    if secret_file is not None:
        return secret_file.read_text().strip()
    if os.environ.get("HANGAR_S3_SECRET_ACCESS_KEY"):
        return os.environ["HANGAR_S3_SECRET_ACCESS_KEY"]
    return str(typer.prompt("secret access key", hide_input=True))


@app.command()
def check(
    storage: StorageArg,
    path: Annotated[str, typer.Argument(help="A folder on the storage.")] = "",
) -> None:
    """Whether a path may be used on the storage (it must exist)."""
    with connect() as client:
        found = client.storages.check(client.storages.find(storage).id, path)
    say(f"ok: /{found}")


@app.command()
def remove(
    storage: StorageArg, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False
) -> None:
    """Forget a storage (its data stays where it is)."""
    with connect() as client:
        target = client.storages.find(storage)
        if not yes and not typer.confirm(f"remove storage {target.name}?"):
            raise typer.Exit(1)
        client.storages.remove(target.id)
    say(f"removed storage {target.name}")
