"""Per-tenant usage of the platform's own storage, from the blobs its manifests reference."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hangar.assets.blobs import BlobStore
from hangar.assets.manifests import Manifest
from hangar.assets.orm import BlobRef
from hangar.errors import Conflict
from hangar.tenancy.orm import Tenant

GIB = 1024**3
DEFAULT_QUOTA_GIB = 300  # spec 07 §0: 300 G free


def used_bytes(session: Session, *, tenant_id: str) -> int:
    """Distinct bytes the tenant's manifests reference."""
    return int(
        session.scalar(select(func.coalesce(func.sum(BlobRef.size), 0)).where(
            BlobRef.tenant_id == tenant_id
        )) or 0
    )  # fmt: skip


def do_reference(
    session: Session, *, tenant_id: str, manifest: Manifest, quota_bytes: int | None = None
) -> int:
    """Count ``manifest`` as the tenant's (one more reference per blob it names); refuse with
    a 409 naming the figures when it would take the tenant over ``quota_bytes`` (default: the
    tenant's free platform storage, ``Tenant.storage_quota_gib``). Returns the bytes newly
    charged (blobs the tenant did not reference yet)."""
    blobs = manifest.blobs
    held = {
        row.sha256: row
        for row in session.scalars(
            select(BlobRef).where(BlobRef.tenant_id == tenant_id, BlobRef.sha256.in_(blobs))
        )
    }
    new = sum(size for sha, size in blobs.items() if sha not in held)
    if quota_bytes is None:
        quota_bytes = quota_of(session, tenant_id)
    if new:
        used = used_bytes(session, tenant_id=tenant_id)
        if used + new > quota_bytes:
            raise Conflict(
                f"the tenant's platform storage holds {_gb(used)} of its free {_gb(quota_bytes)}"
                f"; this adds {_gb(new)}: delete versions or datasets you no longer need, or "
                "keep large data on tenant storage (spec 07 §0)",
                fields={"storage": f"{used + new:,} > {quota_bytes:,} bytes"},
            )
    for sha, size in blobs.items():
        row = held.get(sha)
        if row is None:
            session.add(BlobRef(tenant_id=tenant_id, sha256=sha, size=size, refs=1))
        else:
            row.refs += 1
    session.flush()
    return new


def quota_of(session: Session, tenant_id: str) -> int:
    """The tenant's free platform storage in bytes."""
    tenant = session.get(Tenant, tenant_id)
    return (tenant.storage_quota_gib if tenant else DEFAULT_QUOTA_GIB) * GIB


def _gb(size: int) -> str:
    """A size as people read it: bytes below 1 MiB, then MiB or GiB."""
    if size < 1024**2:
        return f"{size:,} bytes"
    if size < GIB:
        return f"{size / 1024**2:.2f} MiB"
    return f"{size / GIB:.2f} GiB"


def do_release(session: Session, *, tenant_id: str, manifest: Manifest) -> int:
    """Undo :func:`do_reference` for a deleted version; returns the bytes no longer charged."""
    freed = 0
    for sha, size in manifest.blobs.items():
        row = session.get(BlobRef, (tenant_id, sha))
        if row is None:
            continue
        row.refs -= 1
        if row.refs <= 0:
            session.delete(row)
            freed += size
    session.flush()
    return freed


def unreferenced(session: Session, store: BlobStore) -> list[str]:
    """Blobs on disk that no tenant references (safe to delete once no upload is writing)."""
    named = set(session.scalars(select(BlobRef.sha256).distinct()))
    found = []
    for folder in store.root.iterdir():
        if folder.name == "tmp" or not folder.is_dir():
            continue
        for blob in folder.iterdir():
            sha = folder.name + blob.name
            if sha not in named:
                found.append(sha)
    return sorted(found)
