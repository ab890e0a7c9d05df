""" "Make image" (spec 03 §1.7, matrix rows 51-52 and 77): request, build, cancel.

A request creates the image row (status ``building``) in the caller's transaction; the
:class:`ImageBuilder` loop copies the environment's software layer into the image's
directory outside any transaction and then marks it ``ready`` (or ``failed``). The build is
idempotent: a server killed mid-copy finds the row still ``building`` and copies again from
scratch (the half copy sits under a ``.partial`` name and is replaced). A cancelled build's
files are removed by the loop, which then clears the image's ``path``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hangar.db.base import new_id
from hangar.db.engine import transaction
from hangar.errors import Conflict, NotFound, PermissionDenied
from hangar.images import layers
from hangar.images.orm import Image
from hangar.images.service import label, name_owner, visible
from hangar.naming import check_n1
from hangar.runtimes.software import layer_site_packages
from hangar.tenancy.access import Actor
from hangar.workloads.orm import Workload
from hangar.workloads.service import do_note

log = logging.getLogger(__name__)

NAME_MAX = 64
NO_SSH_TAG = "ssh"  # spec 03 §1.9: only preset images support SSH


def do_request(
    session: Session,
    actor: Actor,
    *,
    home: Path,
    workload: Workload,
    image_id: str | None,
    ide: str,
    name: str,
    description: str,
) -> Image:
    """Queue an image of ``workload``'s software layer (its parent: the environment's image)."""
    check_n1(name, max_length=NAME_MAX)
    software = layers.software_host_dir(home, workload.id)
    if not layer_site_packages(software).is_dir():
        raise Conflict(
            f"dev environment '{workload.name}' has no software of its own yet: start it once, "
            "install what you need (pip install ...), then make the image",
            fields={"state": workload.state},
        )
    pending = session.scalar(
        select(Image.id).where(Image.source_workload_id == workload.id, Image.status == "building")
    )
    if pending is not None:
        raise Conflict(
            f"an image of '{workload.name}' is already being made ({pending}); wait for it or "
            f"cancel it with `hangar image cancel {pending}`",
            fields={"image": "building"},
        )
    parent = session.get(Image, image_id) if image_id else None
    latest = session.scalar(
        select(func.max(Image.version)).where(
            Image.tenant_id == actor.tenant_id, Image.name == name
        )
    )
    maker = name_owner(session, actor.tenant_id, name)
    if latest is not None and maker != actor.id and not actor.is_tenant_admin:
        raise Conflict(
            f"image name '{name}' belongs to another user of your tenant: a new version of an "
            "image can be made only by its maker or a tenant admin; pick another name",
            fields={"name": "taken by another user"},
        )
    new = new_id()
    image = Image(
        id=new, tenant_id=actor.tenant_id, name=name, version=(latest or 0) + 1, kind="custom",
        description=description, parent_id=parent.id if parent else None,
        tags=[t for t in (parent.tags if parent else []) if t != NO_SSH_TAG],
        path=str(layers.image_host_dir(home, new)), status="building", source=ide,
        source_workload_id=workload.id, created_by=actor.id,
    )  # fmt: skip
    session.add(image)
    session.flush()
    do_note(session, workload, "info", f"making image {label(image)} ({image.id})")
    return image


def image_for_change(session: Session, actor: Actor, image_id: str) -> Image:
    """A custom image of the caller's tenant that the caller made (or a tenant admin).
    Images the caller cannot see are 404; one only shared with them is 403."""
    image = session.get(Image, image_id, with_for_update=True)
    if image is None or not session.scalar(
        select(func.count()).where(Image.id == image_id, visible(actor))
    ):
        raise NotFound(f"image '{image_id}' not found", kind="image", id=image_id)
    if image.tenant_id is None:
        raise PermissionDenied(f"image '{image.name}' is a preset image: it cannot be changed")
    if image.tenant_id != actor.tenant_id or (
        image.created_by != actor.id and not actor.is_tenant_admin
    ):
        raise PermissionDenied(
            f"image '{image.name}' was made by another user and only shared with you; only "
            "its maker or a tenant admin of its tenant may change it"
        )
    return image


def do_cancel(session: Session, actor: Actor, image_id: str) -> Image:
    """Cancel making an image (row 52); the loop removes whatever was copied."""
    image = image_for_change(session, actor, image_id)
    if image.status != "building":
        raise Conflict(
            f"image {label(image)} is {image.status}: only an image being made can be cancelled",
            fields={"status": image.status},
        )
    image.status, image.status_reason = "cancelled", f"cancelled by {actor.user.username}"
    return image


@dataclass(frozen=True)
class BuildResult:
    built: int
    failed: int


class ImageBuilder:
    """Copies requested images out of their environments; one step builds every pending one."""

    def __init__(self, sessions: sessionmaker[Session], home: Path) -> None:
        self.sessions = sessions
        self.home = home

    def step(self) -> BuildResult:
        with transaction(self.sessions) as session:
            pending = session.execute(
                select(Image.id, Image.source_workload_id, Image.path).where(
                    Image.kind == "custom",
                    Image.status.in_(("building", "cancelled")),
                    Image.path != "",
                )
            ).all()
        built = failed = 0
        for image_id, workload_id, path in pending:
            ok = self._build(image_id, workload_id or "", Path(path))
            built += ok
            failed += not ok
        return BuildResult(built=built, failed=failed)

    def _build(self, image_id: str, workload_id: str, dest: Path) -> bool:
        with transaction(self.sessions) as session:
            image = session.get(Image, image_id)
            cancelled = image is None or image.status == "cancelled"
        if cancelled:
            layers.discard(dest)  # first: a crash before the mark below only discards again
            with transaction(self.sessions) as session:
                image = session.get(Image, image_id)
                if image is not None:
                    image.path = ""  # cleaned up: the loop is done with it
            return True
        try:
            size = layers.snapshot(layers.software_host_dir(self.home, workload_id), dest)
        except OSError as exc:
            layers.discard(dest)
            self._finish(image_id, "failed", f"copying the software layer failed: {exc}", 0)
            log.warning("image %s: %s", image_id, exc)
            return False
        reason = f"{size.files} files, {size.bytes / 2**20:.1f} MiB"
        if not self._finish(image_id, "ready", reason, size.bytes):
            layers.discard(dest)  # cancelled while copying
        return True

    def _finish(self, image_id: str, status: str, reason: str, size_bytes: int) -> bool:
        with transaction(self.sessions) as session:
            image = session.get(Image, image_id, with_for_update=True)
            if image is None or image.status != "building":
                return False
            image.status, image.status_reason, image.size_bytes = status, reason, size_bytes
            workload = session.get(Workload, image.source_workload_id or "")
            if workload is not None:
                level = "info" if status == "ready" else "alert"
                do_note(session, workload, level, f"image {label(image)} {status}: {reason}")
            return True
