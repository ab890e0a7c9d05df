"""External storage (spec 07 §0): a tenant's own storage that an admin registers for one
cluster, and the paths datasets and code packages take on it.

A registered storage is a folder on the cluster's nodes (``filesystem``: a parallel file
system or an NFS export mounted at the same place on every node). A path on it is relative,
never absolute or ``..``; it must exist when given (the platform checks, and blocks the form
otherwise); admins may leave it empty to mean the whole storage, everyone else must name an
authorised folder (spec 07 §0, the FAQ's "an empty path gives an error").

The platform never deletes, moves or writes tenant data on a registered storage (decision
G1): removing a dataset or a storage only forgets the pointer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets.dataset_orm import CodePackage, Dataset, ExternalStorage
from hangar.assets.manifests import safe_path
from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from hangar.naming import check_n1
from hangar.resources.orm import Cluster
from hangar.tenancy.access import Actor, check_capability

KINDS = ("filesystem",)
PATH_MAX = 1000  # spec 07 §2.1: path ≤ 1000 characters


@dataclass(frozen=True)
class Location:
    """Where a dataset's or code package's files are: a host folder and how it was named."""

    storage: ExternalStorage | None
    path: str
    host_path: Path


def do_register(
    session: Session, *, actor: Actor, cluster_id: str, name: str, kind: str, root: str
) -> ExternalStorage:
    check_capability(actor, "storage.manage", write=True)
    check_n1(name, max_length=64)
    cluster = session.get(Cluster, cluster_id)
    if cluster is None or (cluster.tenant_id not in (None, actor.tenant_id)):
        raise NotFound.of("cluster", cluster_id)
    if kind not in KINDS:
        raise ValidationFailed.field(
            "kind", f"must be one of {', '.join(KINDS)} (got {kind!r}); mount an S3 bucket "
            "on the nodes (e.g. with s3fs) and register that folder as 'filesystem'",
        )  # fmt: skip
    folder = Path(root)
    if not folder.is_absolute():
        raise ValidationFailed.field("root", f"must be an absolute folder path (got {root!r})")
    if not folder.is_dir():
        raise ValidationFailed.field(
            "root", f"{root} does not exist on this server or is not a folder: mount the "
            "storage there first",
        )  # fmt: skip
    taken = session.scalar(
        select(ExternalStorage.id).where(
            ExternalStorage.tenant_id == actor.tenant_id, ExternalStorage.name == name
        )
    )
    if taken is not None:
        raise AlreadyExists(
            f"a storage named '{name}' is already registered: pick another name",
            fields={"name": "already used"},
        )
    storage = ExternalStorage(
        tenant_id=actor.tenant_id, cluster_id=cluster.id, name=name, kind=kind,
        root=str(folder.resolve()), created_by=actor.id,
    )  # fmt: skip
    session.add(storage)
    session.flush()
    note_target("storage", storage.id, storage.name)
    return storage


def listed(session: Session, actor: Actor) -> list[ExternalStorage]:
    check_capability(actor, "storage.view", write=False)
    return list(
        session.scalars(
            select(ExternalStorage)
            .where(ExternalStorage.tenant_id == actor.tenant_id)
            .order_by(ExternalStorage.name)
        )
    )


def get(session: Session, actor: Actor, storage_id: str) -> ExternalStorage:
    storage = session.get(ExternalStorage, storage_id)
    if storage is None or storage.tenant_id != actor.tenant_id:
        raise NotFound.of("storage", storage_id)
    return storage


def do_remove(session: Session, *, actor: Actor, storage_id: str) -> None:
    """Forget a storage (its data stays where it is, G1); refused while anything uses it."""
    check_capability(actor, "storage.manage", write=True)
    storage = get(session, actor, storage_id)
    users = [
        *session.scalars(select(Dataset.name).where(Dataset.storage_id == storage.id)),
        *session.scalars(select(CodePackage.name).where(CodePackage.storage_id == storage.id)),
    ]
    if users:
        raise Conflict(
            f"storage '{storage.name}' is used by {', '.join(sorted(users)[:5])}"
            + (" and others" if len(users) > 5 else "")
            + ": delete or move those first",
            users=len(users),
        )
    note_target("storage", storage.id, storage.name)
    session.delete(storage)


def locate(
    session: Session, actor: Actor, *, storage_id: str, path: str, field: str = "path"
) -> Location:
    """Check ``path`` on a registered storage: relative, inside it, an existing folder, and
    given unless the caller is an admin (spec 07 §0)."""
    storage = get(session, actor, storage_id)
    if len(path) > PATH_MAX:
        raise ValidationFailed.field(field, f"must be at most {PATH_MAX} characters")
    clean = path.strip().strip("/")
    if not clean:
        if not actor.is_tenant_admin:
            raise ValidationFailed.field(
                field, f"enter a folder on storage '{storage.name}' you are authorised to use; "
                "only admins may mount a whole storage",
            )  # fmt: skip
        return Location(storage, "", Path(storage.root))
    relative = safe_path(clean, field=field)
    root = Path(storage.root)
    target = root / relative
    # Symbolic links on the storage must not lead outside it.
    if not target.is_dir() or not target.resolve().is_relative_to(root.resolve()):
        raise ValidationFailed.field(
            field, f"'{relative}' does not exist on storage '{storage.name}' (or is not a "
            "folder): create it there first, or check the spelling",
        )  # fmt: skip
    return Location(storage, relative, target)
