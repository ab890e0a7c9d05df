"""External storage (spec 07 §0): a tenant's own storage that an admin registers for one
cluster, and the paths datasets and code packages take on it.

A registered storage is either

- ``filesystem``: a folder on the cluster's nodes (a parallel file system or an NFS export
  mounted at the same place on every node), mounted into workloads as it is; or
- ``s3``: a bucket of an S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...), reached
  with an access key whose secret is sealed on the server (``assets.secret_box``). Its
  folders are staged into the object cache before a run starts (``assets.object_store``)
  and mounted read-only.

A path on it is relative,
never absolute or ``..``; it must exist when given (the platform checks, and blocks the form
otherwise); admins may leave it empty to mean the whole storage, everyone else must name an
authorised folder (spec 07 §0, the FAQ's "an empty path gives an error").

The platform never deletes, moves or writes tenant data on a registered storage (decision
G1): removing a dataset or a storage only forgets the pointer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets import object_store
from hangar.assets.dataset_orm import CodePackage, Dataset, ExternalStorage
from hangar.assets.manifests import safe_path
from hangar.assets.object_store import Bucket, ObjectStoreError
from hangar.assets.orm import ModelVersion, RegisteredModel
from hangar.assets.secret_box import SecretBox
from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from hangar.naming import check_n1
from hangar.resources.orm import Cluster
from hangar.tenancy.access import Actor, check_capability

KINDS = ("filesystem", "s3")
PATH_MAX = 1000  # spec 07 §2.1: path ≤ 1000 characters


@dataclass(frozen=True)
class S3Access:
    """How to reach a bucket, as an admin enters it (the secret is sealed once checked)."""

    endpoint_url: str = ""  # empty: AWS S3
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""


@dataclass(frozen=True)
class Location:
    """Where a dataset's or code package's files are: the storage, the path on it, and the
    host folder (None on an object storage, whose folders are staged when mounted)."""

    storage: ExternalStorage | None
    path: str
    host_path: Path | None
    bucket: Bucket | None = None

    def has_file(self, relative: str) -> bool:
        if self.bucket is not None:
            key = f"{self.path}/{relative}" if self.path else relative
            return object_store.file_exists(self.bucket, key)
        assert self.host_path is not None
        found = self.host_path / relative
        return found.is_file() and found.resolve().is_relative_to(self.host_path.resolve())


def do_register(
    session: Session, *, actor: Actor, cluster_id: str, name: str, kind: str, root: str,
    s3: S3Access | None = None, box: SecretBox | None = None,
) -> ExternalStorage:  # fmt: skip
    """Register a storage; ``root`` is the folder (filesystem) or the bucket name (s3)."""
    check_capability(actor, "storage.manage", write=True)
    check_n1(name, max_length=64)
    cluster = session.get(Cluster, cluster_id)
    if cluster is None or (cluster.tenant_id not in (None, actor.tenant_id)):
        raise NotFound.of("cluster", cluster_id)
    if kind not in KINDS:
        raise ValidationFailed.field(
            "kind", f"must be one of {', '.join(KINDS)} (got {kind!r})"
        )  # fmt: skip
    options: dict[str, str] = {}
    sealed = None
    if kind == "s3":
        if box is None:
            raise ValueError("registering an s3 storage needs the server's SecretBox")
        bucket = _checked_bucket(root, s3 or S3Access())
        options = {"endpoint_url": bucket.endpoint_url or "", "region": bucket.region,
                   "access_key_id": bucket.access_key_id}  # fmt: skip
        sealed = box.seal(bucket.secret_access_key)
        root = bucket.name
    else:
        folder = Path(root)
        if not folder.is_absolute():
            raise ValidationFailed.field(
                "root", f"must be an absolute folder path (got {root!r})"
            )  # fmt: skip
        if not folder.is_dir():
            raise ValidationFailed.field(
                "root", f"{root} does not exist on this server or is not a folder: mount the "
                "storage there first",
            )  # fmt: skip
        root = str(folder.resolve())
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
        tenant_id=actor.tenant_id, cluster_id=cluster.id, name=name, kind=kind, root=root,
        options=options, sealed_secret=sealed, created_by=actor.id,
    )  # fmt: skip
    session.add(storage)
    session.flush()
    note_target("storage", storage.id, storage.name)
    return storage


def _checked_bucket(name: str, access: S3Access) -> Bucket:
    """The bucket's fields checked one by one, then one real request to it."""
    name = name.strip()
    if not 3 <= len(name) <= 63 or not all(c.isalnum() or c in ".-" for c in name):
        raise ValidationFailed.field(
            "root", f"must be a bucket name: 3–63 letters, digits, '.' or '-' (got {name!r})"
        )
    endpoint = access.endpoint_url.strip()
    if endpoint and (urlsplit(endpoint).scheme not in ("http", "https")
                     or not urlsplit(endpoint).netloc):  # fmt: skip
        raise ValidationFailed.field(
            "endpoint_url", f"must be an http(s) URL such as https://s3.example.org "
            f"(got {endpoint!r}); leave it empty for AWS S3",
        )  # fmt: skip
    if not access.access_key_id.strip():
        raise ValidationFailed.field("access_key_id", "is required for an s3 storage")
    if not access.secret_access_key:
        raise ValidationFailed.field("secret_access_key", "is required for an s3 storage")
    bucket = Bucket(
        name=name, endpoint_url=endpoint or None, region=access.region.strip() or "us-east-1",
        access_key_id=access.access_key_id.strip(), secret_access_key=access.secret_access_key,
    )  # fmt: skip
    try:
        object_store.verify(bucket)
    except ObjectStoreError as error:
        raise ValidationFailed.field("root", f"{error.message}; nothing was registered") from error
    return bucket


def bucket_of(storage: ExternalStorage, box: SecretBox) -> Bucket:
    """How to reach an s3 storage's bucket (its secret opened from the box)."""
    options = storage.options or {}
    return Bucket(
        name=storage.root, endpoint_url=options.get("endpoint_url") or None,
        region=options.get("region") or "us-east-1",
        access_key_id=options.get("access_key_id", ""),
        secret_access_key=box.open(storage.sealed_secret or ""),
    )  # fmt: skip


def host_folder(home: Path, storage: ExternalStorage, path: str) -> Path:
    """The host folder workloads mount for ``path`` on the storage: the folder itself on a
    filesystem storage, its staged copy in the object cache on an s3 one."""
    if storage.kind == "s3":
        return object_store.staged_files(home, storage.id, path)
    return Path(storage.root) / path if path else Path(storage.root)


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
        *(f"{name} V{number}" for name, number in session.execute(
            select(RegisteredModel.name, ModelVersion.number)
            .join(ModelVersion, ModelVersion.model_id == RegisteredModel.id)
            .where(ModelVersion.storage_id == storage.id)
        )),
    ]  # fmt: skip
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
    session: Session, actor: Actor, *, storage_id: str, path: str, field: str = "path",
    box: SecretBox | None = None, max_length: int = PATH_MAX,
) -> Location:  # fmt: skip
    """Check ``path`` on a registered storage: relative, inside it, an existing folder, and
    given unless the caller is an admin (spec 07 §0). An s3 storage needs ``box``."""
    storage = get(session, actor, storage_id)
    if storage.kind == "s3":
        if box is None:
            raise ValueError("checking a path on an s3 storage needs the server's SecretBox")
        return _locate_in_bucket(actor, storage, bucket_of(storage, box), path, field, max_length)
    if len(path) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
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


def _locate_in_bucket(
    actor: Actor, storage: ExternalStorage, bucket: Bucket, path: str, field: str,
    max_length: int,
) -> Location:  # fmt: skip
    if len(path) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    clean = path.strip().strip("/")
    if not clean:
        if not actor.is_tenant_admin:
            raise ValidationFailed.field(
                field, f"enter a folder of bucket '{bucket.name}' you are authorised to use; "
                "only admins may mount a whole bucket",
            )  # fmt: skip
        return Location(storage, "", None, bucket)
    relative = safe_path(clean, field=field)
    try:
        found = object_store.folder_exists(bucket, relative)
    except ObjectStoreError as error:
        raise ValidationFailed.field(field, error.message) from error
    if not found:
        raise ValidationFailed.field(
            field, f"'{relative}/' holds no objects in bucket '{bucket.name}' (storage "
            f"'{storage.name}'): upload there first, or check the spelling",
        )  # fmt: skip
    return Location(storage, relative, None, bucket)
