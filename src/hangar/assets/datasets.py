"""Datasets (spec 07 §2): who may do what, and basic datasets.

Access follows the matrix rows 7-29: tenant and workspace admins act on every dataset of the
workspace, developers and operators on the ones they created; outside the workspace a
dataset does not exist (404). A dataset shared with the workspace (``visibility`` =
``workspace``: the basic dataset's "developer role in a specified workspace" scope, the
annotated dataset's share) may also be read by its developers: the rows marked *shared* (view,
download, view files), and mounted read-only.

A **basic dataset** points at a folder: a path on a registered external storage, checked to
exist (``storages.locate``), or a folder of the platform's own storage (decision G6) that a
dev environment fills through its write-back mount. Deleting it forgets the pointer and never
touches tenant storage (decision G1); a platform folder goes with it. Either way, running
workloads that mount it are named first and the delete needs ``confirm``.

A **confidential** dataset (§2.2; admins only) lives on tenant storage, is mounted read-only
into a workload whose network is cut, and needs a separate output dataset for what the
workload writes; its use is audited every ``audit_minutes`` (1-1440, decision G2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hangar.assets import object_store, storages
from hangar.assets.dataset_orm import Dataset, ExternalStorage
from hangar.assets.manifests import safe_path
from hangar.assets.secret_box import SecretBox
from hangar.audit.context import note_target, note_workspace
from hangar.backends.spec import SAFE_NAME
from hangar.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationFailed
from hangar.jobs.access import access_workspace_for_create
from hangar.naming import check_n1
from hangar.tenancy.access import (
    Actor,
    access_workspace,
    check_capability,
    check_point,
    decide,
    workspace_roles,
)
from hangar.tenancy.matrix import BY_KEY, Role
from hangar.tenancy.orm import Workspace

BASIC_NAME_MAX = 25  # spec 07 §2.1
BASIC_DESCRIPTION_MAX = 250
DESCRIPTION_MAX = 1000
VISIBILITIES = ("owner", "workspace")
AUDIT_MINUTES = (1, 1440)  # spec 07 §2.2, decision G2
# Letters (Chinese included), digits, '-', '_' and '*' (spec 07 §2.1).
_BASIC_NAME = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff_*-]+$")
DELETABLE = ("created", "create_failed", "import_succeeded", "import_failed")


@dataclass(frozen=True)
class DatasetAccess:
    actor: Actor
    dataset: Dataset
    workspace: Workspace
    roles: frozenset[Role]

    @property
    def shared_only(self) -> bool:
        """The caller reads it because it is shared with the workspace, not as its owner."""
        return Role.ADMIN not in self.roles and self.dataset.created_by != self.actor.id


def platform_folder(home: Path, dataset: Dataset) -> Path:
    """Where a basic dataset on the platform's own storage keeps its files (G6)."""
    return home / "datasets" / dataset.id / "files"


def access_dataset(
    session: Session, actor: Actor, dataset_id: str, point: str, *, write: bool
) -> DatasetAccess:
    """The dataset if ``point`` allows the caller to act on it: 404 when it is not theirs to
    see, 403 when they see it but the row denies the action."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.tenant_id != actor.tenant_id:
        raise NotFound.of("dataset", dataset_id)
    try:
        ws = access_workspace(session, actor, dataset.workspace_id)
    except NotFound:
        raise NotFound.of("dataset", dataset_id) from None
    roles = workspace_roles(session, actor, ws)
    owner = dataset.created_by or ""
    note_workspace(ws.id)
    note_target("dataset", dataset.id, dataset.name, workspace_id=ws.id)
    if (
        not write
        and owner != actor.id
        and shared_with(dataset, roles)
        and BY_KEY[point].shared_read
    ):
        return DatasetAccess(actor, dataset, ws, roles)
    check_point(actor, point, roles, owner_id=owner, write=write)
    return DatasetAccess(actor, dataset, ws, roles)


def shared_with(dataset: Dataset, roles: frozenset[Role]) -> bool:
    """Shared with the workspace's developers (they may view, download and mount it)."""
    return dataset.visibility == "workspace" and Role.DEVELOPER in roles


def check_visibility(value: str) -> str:
    if value not in VISIBILITIES:
        raise ValidationFailed.field(
            "visibility", f"must be 'owner' (read-write for you only) or 'workspace' (readable "
            f"by the workspace's developers), got {value!r}",
        )  # fmt: skip
    return value


def check_basic_name(name: str) -> str:
    if not name:
        raise ValidationFailed.field("name", "is required")
    if len(name) > BASIC_NAME_MAX:
        raise ValidationFailed.field(
            "name", f"must be at most {BASIC_NAME_MAX} characters (got {len(name)})"
        )
    if not _BASIC_NAME.match(name):
        raise ValidationFailed.field(
            "name", "may contain only letters, Chinese characters, digits, '-', '_' and '*'"
        )
    return name


def check_description(text: str, limit: int) -> str:
    if len(text) > limit:
        raise ValidationFailed.field(
            "description", f"must be at most {limit} characters (got {len(text)})"
        )
    return text


def check_mount_name(value: str) -> str:
    if not SAFE_NAME.match(value) or len(value) > 64:
        raise ValidationFailed.field(
            "mount_name", f"{value!r} must be 1-64 characters of letters, digits, '.', '_' and "
            "'-', starting with a letter or digit: it is the folder under /work/mount/dataset/",
        )  # fmt: skip
    return value


def default_mount_name(name: str, dataset_id: str) -> str:
    return name if SAFE_NAME.match(name) and len(name) <= 64 else dataset_id


def name_taken(session: Session, ws: Workspace, kind: str, name: str) -> None:
    taken = session.scalar(
        select(Dataset.id).where(
            Dataset.workspace_id == ws.id, Dataset.kind == kind, Dataset.name == name
        )
    )
    if taken is not None:
        raise AlreadyExists(
            f"workspace '{ws.name}' already has a {kind} dataset named '{name}': pick another "
            "name", fields={"name": "already used in this workspace"},
        )  # fmt: skip


def do_create_basic(
    session: Session, *, actor: Actor, home: Path, workspace_id: str, name: str,
    description: str = "", visibility: str = "owner", storage_id: str | None = None,
    path: str = "", mount_name: str | None = None, confidential: bool = False,
    output_dataset_id: str | None = None, audit_minutes: int | None = None,
) -> Dataset:  # fmt: skip
    ws = access_workspace_for_create(session, actor, workspace_id, point="basic_dataset.create")
    check_basic_name(name)
    check_description(description, BASIC_DESCRIPTION_MAX)
    check_visibility(visibility)
    name_taken(session, ws, "basic", name)
    location = None
    if storage_id:
        location = storages.locate(session, actor, storage_id=storage_id, path=path,
                                   box=SecretBox.of_home(home))  # fmt: skip
    elif path:
        raise ValidationFailed.field(
            "path", "needs a storage_id: a path names a folder on a registered storage; leave "
            "both empty to keep the files on the platform's storage",
        )  # fmt: skip
    dataset = Dataset(
        tenant_id=actor.tenant_id, workspace_id=ws.id, kind="basic", name=name,
        description=description, visibility=visibility, status="created",
        storage_id=location.storage.id if location and location.storage else None,
        path=location.path if location else "", created_by=actor.id, mount_name="",
    )  # fmt: skip
    session.add(dataset)
    session.flush()
    dataset.mount_name = check_mount_name(mount_name or default_mount_name(name, dataset.id))
    if confidential or output_dataset_id or audit_minutes is not None:
        _make_confidential(session, actor, dataset, output_dataset_id, audit_minutes)
    if dataset.storage_id is None:
        platform_folder(home, dataset).mkdir(parents=True, exist_ok=True)
    note_target("dataset", dataset.id, dataset.name, workspace_id=ws.id)
    return dataset


def _make_confidential(
    session: Session, actor: Actor, dataset: Dataset, output_id: str | None,
    audit_minutes: int | None,
) -> None:  # fmt: skip
    check_capability(actor, "dataset.confidential", write=True)
    if dataset.storage_id is None:
        raise ValidationFailed.field(
            "confidential", "needs tenant storage: register the storage and give storage_id "
            "and path (spec 07 §2.2)",
        )  # fmt: skip
    if not output_id:
        raise ValidationFailed.field(
            "output_dataset_id", "a confidential dataset needs a separate output dataset for "
            "what workloads write: create a basic dataset for it first",
        )  # fmt: skip
    output = session.get(Dataset, output_id)
    if output is None or output.workspace_id != dataset.workspace_id or output.kind != "basic":
        raise ValidationFailed.field(
            "output_dataset_id", f"'{output_id}' is not a basic dataset of this workspace"
        )
    if output.id == dataset.id or output.confidential:
        raise ValidationFailed.field(
            "output_dataset_id", "must be another, non-confidential dataset"
        )
    if _on_object_storage(session, output):
        raise ValidationFailed.field(
            "output_dataset_id", f"'{output.name}' is on an object storage, which workloads "
            "mount read-only: pick an output dataset on a file system or the platform",
        )  # fmt: skip
    if audit_minutes is not None and not AUDIT_MINUTES[0] <= audit_minutes <= AUDIT_MINUTES[1]:
        raise ValidationFailed.field(
            "audit_minutes", f"must be a whole number of minutes from {AUDIT_MINUTES[0]} to "
            f"{AUDIT_MINUTES[1]} (got {audit_minutes})",
        )  # fmt: skip
    dataset.confidential = True
    dataset.output_dataset_id = output.id
    dataset.audit_minutes = audit_minutes


def visible_datasets(
    session: Session, actor: Actor, *, workspace_id: str, kind: str | None = None,
    search: str = "", status: str | None = None,
) -> list[Dataset]:  # fmt: skip
    """The workspace's datasets the caller may see, newest first; ``search`` matches the
    name or the id."""
    ws = access_workspace(session, actor, workspace_id)
    roles = workspace_roles(session, actor, ws)
    stmt = select(Dataset).where(Dataset.workspace_id == ws.id)
    if kind:
        stmt = stmt.where(Dataset.kind == kind)
    if status:
        stmt = stmt.where(Dataset.status == status)
    if search:
        stmt = stmt.where(or_(Dataset.name.contains(search), Dataset.id == search))
    rows = session.scalars(stmt.order_by(Dataset.created_at.desc(), Dataset.id))
    return [
        d for d in rows
        if shared_with(d, roles)
        or decide(BY_KEY[f"{'basic_' if d.kind == 'basic' else ''}dataset.view"], roles,
                  owner_is_actor=d.created_by == actor.id)
    ]  # fmt: skip


def do_update_basic(
    session: Session, *, actor: Actor, dataset_id: str, name: str | None = None,
    visibility: str | None = None, mount_name: str | None = None,
    description: str | None = None,
) -> Dataset:  # fmt: skip
    """Rename (row 24), change visibility (row 23), change the mount path (row 25)."""
    dataset = access_dataset(session, actor, dataset_id, "basic_dataset.view", write=False)
    ds, ws = dataset.dataset, dataset.workspace
    if name is not None and name != ds.name:
        access_dataset(session, actor, ds.id, "basic_dataset.rename", write=True)
        check_basic_name(name)
        name_taken(session, ws, "basic", name)
        ds.name = name
    if description is not None:
        access_dataset(session, actor, ds.id, "basic_dataset.rename", write=True)
        ds.description = check_description(description, BASIC_DESCRIPTION_MAX)
    if visibility is not None:
        access_dataset(session, actor, ds.id, "basic_dataset.change_visibility", write=True)
        ds.visibility = check_visibility(visibility)
    if mount_name is not None:
        access_dataset(session, actor, ds.id, "basic_dataset.change_mount_path", write=True)
        ds.mount_name = check_mount_name(mount_name)
    return ds


def do_update_annotated(
    session: Session, *, actor: Actor, dataset_id: str, name: str | None = None,
    visibility: str | None = None, mount_name: str | None = None,
    description: str | None = None,
) -> Dataset:  # fmt: skip
    """Rename (row 11), share or unshare with the workspace (row 20), change the mount name."""
    found = access_dataset(session, actor, dataset_id, "dataset.view", write=False)
    ds = found.dataset
    if name is not None and name != ds.name:
        access_dataset(session, actor, ds.id, "dataset.rename", write=True)
        check_n1(name, max_length=64)
        name_taken(session, found.workspace, "annotated", name)
        ds.name = name
    if description is not None:
        access_dataset(session, actor, ds.id, "dataset.rename", write=True)
        ds.description = check_description(description, DESCRIPTION_MAX)
    if visibility is not None:
        access_dataset(session, actor, ds.id, "dataset.share", write=True)
        ds.visibility = check_visibility(visibility)
    if mount_name is not None:
        access_dataset(session, actor, ds.id, "dataset.rename", write=True)
        ds.mount_name = check_mount_name(mount_name)
    return ds


def storage_of(session: Session, dataset: Dataset) -> ExternalStorage | None:
    """The registered storage a basic dataset lives on (None: the platform's)."""
    if dataset.storage_id is None:
        return None
    storage = session.get(ExternalStorage, dataset.storage_id)
    if storage is None:
        raise NotFound.of("storage", dataset.storage_id)
    return storage


def _on_object_storage(session: Session, dataset: Dataset) -> bool:
    storage = storage_of(session, dataset)
    return storage is not None and storage.kind == "s3"


def host_folder(home: Path, dataset: Dataset, session: Session) -> Path:
    """The host folder behind a basic dataset (for one on an object storage: its staged
    copy, filled when a workload mounts it)."""
    storage = storage_of(session, dataset)
    if storage is None:
        return platform_folder(home, dataset)
    return storages.host_folder(home, storage, dataset.path)


def list_files(
    session: Session, *, access: DatasetAccess, home: Path, path: str = "", limit: int = 1000
) -> list[dict[str, object]]:
    """One folder of a basic dataset (row 27): names, kinds and sizes, folders first."""
    storage = storage_of(session, access.dataset)
    if storage is not None and storage.kind == "s3":
        bucket = storages.bucket_of(storage, SecretBox.of_home(home))
        sub = safe_path(path.strip("/")) if path.strip("/") else ""
        folder_key = "/".join(p for p in (access.dataset.path, sub) if p)
        return object_store.list_folder(bucket, folder_key, limit=limit)
    root = host_folder(home, access.dataset, session)
    folder = root
    if path.strip("/"):
        folder = root / safe_path(path.strip("/"))
    if not folder.resolve().is_relative_to(root.resolve()) or not folder.is_dir():
        raise NotFound(f"dataset '{access.dataset.name}' has no folder '{path}'")
    entries: list[dict[str, object]] = []
    for child in sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name))[:limit]:
        stat = child.lstat()
        kind = "link" if child.is_symlink() else "folder" if child.is_dir() else "file"
        entries.append({"name": child.name, "kind": kind, "size": stat.st_size})
    return entries


def check_deletable(
    session: Session, access: DatasetAccess, users: list[str], confirm: bool
) -> None:
    ds = access.dataset
    if ds.confidential and Role.ADMIN not in access.roles and not access.actor.is_tenant_admin:
        raise PermissionDenied(
            f"dataset '{ds.name}' is confidential: only admins may delete it (spec 07 §2.1)",
            permission="dataset.confidential",
        )
    if ds.status not in DELETABLE:
        raise Conflict(
            f"dataset '{ds.name}' is {ds.status}: wait until it finishes, then delete it"
        )
    used_as_output = session.scalar(select(Dataset.name).where(Dataset.output_dataset_id == ds.id))
    if used_as_output is not None:
        raise Conflict(
            f"dataset '{ds.name}' is the confidential output of '{used_as_output}': delete "
            "that one first"
        )
    if users and not confirm:
        raise Conflict(
            f"dataset '{ds.name}' is mounted by running work ({', '.join(users[:5])}); they "
            "keep running and lose the mount's files only if they live on the platform: "
            "send confirm=true to delete anyway",
            dependents=users,
        )
