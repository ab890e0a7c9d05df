"""Images: the preset one, lookups, and what a workload runs with (docs/images.md).

Who sees a custom image (spec 01 §4, matrix row 50; spec 07 §3): its maker; every tenant
admin of its tenant; and whoever it is shared with (:class:`ImageShare`: a user of the same
tenant, or every user of another tenant) while the share is enabled and not past its end.
Everyone sees the preset images. Others get 404, never 403.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, and_, case, exists, false, not_, or_, select, true
from sqlalchemy.orm import Session

from hangar.db.base import utcnow
from hangar.errors import Conflict, NotFound
from hangar.images.orm import Image, ImageShare
from hangar.tenancy.access import Actor

SOURCES = ("preset", "custom", "shared")

PRESET_NAME = "python-3.11-jupyterlab"
PRESET_TAGS = ["jupyterlab", "code-server", "ssh", "python"]


def ensure_presets(session: Session) -> Image:
    """The preset image: the server's own Python environment (with JupyterLab)."""
    found = session.scalar(
        select(Image).where(Image.tenant_id.is_(None), Image.name == PRESET_NAME)
    )
    if found is not None:
        return found
    preset = Image(
        tenant_id=None, name=PRESET_NAME, version=1, kind="preset", tags=list(PRESET_TAGS),
        description=f"Python {sys.version_info.major}.{sys.version_info.minor} with JupyterLab, "
        "PyTorch when installed, and the Hangar runtime helpers",
        path="", source="preset",
    )  # fmt: skip
    session.add(preset)
    session.flush()
    return preset


def own(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause: custom images of the caller's tenant that the caller may manage: the
    ones they made, or all of the tenant's for a tenant admin."""
    mine = true() if actor.is_tenant_admin else Image.created_by == actor.id
    return and_(Image.tenant_id == actor.tenant_id, mine)


def share_live(now: datetime) -> ColumnElement[bool]:
    """A share that works now: enabled, and its end (if any) not passed."""
    return and_(
        ImageShare.enabled.is_(True),
        or_(ImageShare.expires_at.is_(None), ImageShare.expires_at >= now),
    )


def shared_with(actor: Actor, live: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
    """WHERE clause: a custom image whose name is shared with the caller (by user or by
    their tenant); ``live`` narrows the shares (default: any, even disabled or expired)."""
    share = exists().where(
        ImageShare.tenant_id == Image.tenant_id,
        ImageShare.name == Image.name,
        or_(ImageShare.user_id == actor.id, ImageShare.target_tenant_id == actor.tenant_id),
        live if live is not None else true(),
    )
    return and_(Image.kind == "custom", Image.tenant_id.is_not(None), share)


def visible(
    actor: Actor, *, source: str | None = None, now: datetime | None = None
) -> ColumnElement[bool]:
    """WHERE clause: the images the caller may see and select; ``source`` narrows it to
    ``preset``, ``custom`` (their own, all the tenant's for admins) or ``shared`` (shared
    with them by others, through a live share)."""
    preset = Image.tenant_id.is_(None)
    mine = own(actor)
    shared = and_(shared_with(actor, share_live(now or utcnow())), not_(mine))
    if source is None:
        return or_(preset, mine, shared)
    parts = {"preset": preset, "custom": mine, "shared": shared}
    return parts.get(source, false())


def resolve(session: Session, actor: Actor, ref: str | None) -> Image:
    """An image by id, ``name:V<n>`` or name (its newest ready version, else its newest);
    the preset one when ``ref`` is empty. A name the caller's tenant has comes before one
    shared from another tenant. An image whose share was disabled or has ended is refused
    (409, naming why); workloads already running with it are not touched."""
    preset = ensure_presets(session)
    if not ref:
        return preset
    now = utcnow()
    matches = _matches(ref)
    found = session.scalar(
        select(Image)
        .where(visible(actor, now=now), matches)
        .order_by(
            case((Image.tenant_id == actor.tenant_id, 0), (Image.tenant_id.is_(None), 0), else_=1),
            (Image.status == "ready").desc(),
            Image.version.desc(),
        )
        .limit(1)
    )
    if found is None:
        _refuse_dead_share(session, actor, matches, now)
        raise NotFound(
            f"image '{ref}' not found; `hangar image list` shows the images you can use",
            fields={"image": "unknown image"},
            kind="image",
            id=ref,
        )
    if found.status != "ready":
        raise Conflict(
            f"image '{found.name}' V{found.version} is {found.status}, not ready: "
            f"{found.status_reason or 'wait until it is built'}",
            fields={"image": found.status},
        )
    return found


def _matches(ref: str) -> ColumnElement[bool]:
    name, _, version = ref.partition(":V")
    by_name = Image.name == name
    if version.isdigit():
        by_name = and_(by_name, Image.version == int(version))
    return or_(Image.id == ref, by_name)


def _refuse_dead_share(
    session: Session, actor: Actor, matches: ColumnElement[bool], now: datetime
) -> None:
    """409 when ``matches`` names an image shared with the caller whose share is off."""
    image = session.scalar(
        select(Image).where(matches, shared_with(actor), not_(own(actor))).limit(1)
    )
    if image is None:
        return
    shares = session.scalars(
        select(ImageShare).where(
            ImageShare.tenant_id == image.tenant_id,
            ImageShare.name == image.name,
            or_(ImageShare.user_id == actor.id, ImageShare.target_tenant_id == actor.tenant_id),
        )
    ).all()
    if any(s.enabled for s in shares):
        ends = max(s.expires_at for s in shares if s.enabled and s.expires_at is not None)
        why, status = f"its share ended on {ends:%Y-%m-%d %H:%M} UTC", "share expired"
    else:
        why, status = "its share is disabled", "share disabled"
    raise Conflict(
        f"image '{image.name}' was shared with you but {why}: new workloads cannot use it "
        "(running ones keep it); ask its owner to enable the share or move its end "
        "(`hangar image share-set SHARE_ID --enable --until ...`)",
        fields={"image": status},
    )


def name_owner(session: Session, tenant_id: str, name: str) -> str | None:
    """Who owns a custom image name in a tenant: the maker of its first version."""
    return session.scalar(
        select(Image.created_by)
        .where(Image.tenant_id == tenant_id, Image.name == name)
        .order_by(Image.version)
        .limit(1)
    )


def label(image: Image) -> str:
    return f"{image.name}:V{image.version}"


def layer_paths(session: Session, image: Image) -> list[Path]:
    """The image's layer directories, newest first (empty for the preset image)."""
    paths: list[Path] = []
    current: Image | None = image
    while current is not None and current.path:
        paths.append(Path(current.path))
        current = session.get(Image, current.parent_id) if current.parent_id else None
    return paths
