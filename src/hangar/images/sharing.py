"""Sharing custom images (spec 07 §3 "Shared by others"; matrix rows 53-54) and the per-name
version lists (spec 07 §3: name, version count, created, updated, version list).

A share covers every version of a custom image name in the sharer's tenant, made before or
after the share. Its target is one user of the same tenant or every user of another tenant.
It works while enabled and not past its end (``expires_at``; none: no end); a share that is
disabled or has ended stops new workloads from selecting the image (the refusal says why),
while workloads already running with it keep running. Only the name's owner (the maker of its
first version) or a tenant admin may share, change or remove shares; anyone else who can see
the image (through a share) gets 403, everyone else 404.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from hangar.images.orm import Image, ImageShare
from hangar.images.schemas import (
    ImageNameRead,
    ImageRead,
    ImageShareCreate,
    ImageShareRead,
    ImageShareUpdate,
)
from hangar.images.service import ensure_presets, name_owner, visible
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant, User


def _aware(when: datetime | None) -> datetime | None:
    """Naive times are UTC."""
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


def state(share: ImageShare, now: datetime) -> str:
    if not share.enabled:
        return "disabled"
    ends = _aware(share.expires_at)
    if ends is not None and ends < now:
        return "expired"
    return "active"


def to_read(session: Session, share: ImageShare, now: datetime) -> ImageShareRead:
    user = session.get(User, share.user_id) if share.user_id else None
    tenant = session.get(Tenant, share.target_tenant_id) if share.target_tenant_id else None
    return ImageShareRead(
        id=share.id, name=share.name, user_id=share.user_id,
        username=user.username if user else None, target_tenant_id=share.target_tenant_id,
        tenant_name=tenant.name if tenant else None, expires_at=share.expires_at,
        enabled=share.enabled, state=state(share, now), created_by=share.created_by,
        created_at=share.created_at,
    )  # fmt: skip


def check_manage(session: Session, actor: Actor, name: str) -> None:
    """Raise unless the caller may share ``name`` (a custom image name of their tenant): 404
    when they cannot see it, 403 when they see it only because it is shared with them."""
    owner = name_owner(session, actor.tenant_id, name)
    if owner is not None and (owner == actor.id or actor.is_tenant_admin):
        return
    seen = session.scalar(
        select(Image.id).where(visible(actor), Image.kind == "custom", Image.name == name).limit(1)
    )
    if seen is None:
        raise NotFound(
            f"custom image '{name}' not found; `hangar image list --source custom` shows yours",
            kind="image",
            id=name,
        )
    raise PermissionDenied(
        f"image '{name}' was made by another user and only shared with you: only its maker or "
        "a tenant admin of its tenant may share it or change its shares",
        permission="image.share",
    )


def _target(
    session: Session, actor: Actor, name: str, data: ImageShareCreate
) -> tuple[str | None, str | None, str]:
    """(user_id, target_tenant_id, how it is named in messages)."""
    given = [f for f in ("user_id", "username", "tenant_name") if getattr(data, f)]
    if len(given) != 1:
        raise ValidationFailed(
            "share with exactly one target: user_id or username (a user of your tenant), or "
            f"tenant_name (every user of another tenant); got {', '.join(given) or 'none'}",
            fields={f: "exactly one target" for f in given or ("user_id", "tenant_name")},
        )
    field = given[0]
    if field == "tenant_name":
        tenant = session.scalar(select(Tenant).where(Tenant.name == data.tenant_name))
        if tenant is None:
            raise ValidationFailed.field(
                "tenant_name", f"no tenant named '{data.tenant_name}': check the spelling"
            )
        if tenant.id == actor.tenant_id:
            raise ValidationFailed.field(
                "tenant_name",
                "that is your own tenant: share with a user of it instead (user_id or username)",
            )
        return None, tenant.id, f"tenant '{tenant.name}'"
    column = User.id if field == "user_id" else User.username
    user = session.scalar(select(User).where(column == getattr(data, field)))
    if user is None or user.tenant_id != actor.tenant_id:
        raise ValidationFailed.field(
            field,
            f"no user '{getattr(data, field)}' in your tenant: share with a user of your tenant, "
            "or with another tenant by tenant_name",
        )
    if user.id == name_owner(session, actor.tenant_id, name):
        raise ValidationFailed.field(field, f"'{user.username}' made this image already")
    return user.id, None, f"user '{user.username}'"


def _future(field: str, when: datetime | None, now: datetime) -> datetime | None:
    when = _aware(when)
    if when is not None and when <= now:
        raise ValidationFailed.field(
            field, f"the share's end must be in the future (now is {now:%Y-%m-%d %H:%M} UTC)"
        )
    return when


def do_share(
    session: Session, actor: Actor, name: str, data: ImageShareCreate, now: datetime
) -> ImageShare:
    """Share every version of custom image ``name`` (matrix row 53)."""
    check_manage(session, actor, name)
    user_id, tenant_id, who = _target(session, actor, name, data)
    expires_at = _future("expires_at", data.expires_at, now)
    existing = session.scalar(
        select(ImageShare).where(
            ImageShare.tenant_id == actor.tenant_id,
            ImageShare.name == name,
            ImageShare.user_id.is_(None) if user_id is None else ImageShare.user_id == user_id,
            ImageShare.target_tenant_id.is_(None)
            if tenant_id is None
            else ImageShare.target_tenant_id == tenant_id,
        )
    )
    if existing is not None:
        raise Conflict(
            f"image '{name}' is already shared with {who} (share {existing.id}): change that "
            f"share instead (`hangar image share-set {existing.id}` or PATCH "
            f"/api/v1/images/shares/{existing.id})",
            fields={"target": "already shared"},
        )
    share = ImageShare(
        tenant_id=actor.tenant_id, name=name, user_id=user_id, target_tenant_id=tenant_id,
        expires_at=expires_at, enabled=data.enabled, created_by=actor.id, created_at=now,
    )  # fmt: skip
    session.add(share)
    session.flush()
    return share


def list_shares(session: Session, actor: Actor, name: str) -> list[ImageShare]:
    check_manage(session, actor, name)
    return list(
        session.scalars(
            select(ImageShare)
            .where(ImageShare.tenant_id == actor.tenant_id, ImageShare.name == name)
            .order_by(ImageShare.created_at, ImageShare.id)
        )
    )


def share_for_change(session: Session, actor: Actor, share_id: str) -> ImageShare:
    share = session.get(ImageShare, share_id, with_for_update=True)
    if share is None or share.tenant_id != actor.tenant_id:
        raise NotFound(f"image share '{share_id}' not found", kind="image share", id=share_id)
    try:
        check_manage(session, actor, share.name)
    except NotFound:
        raise NotFound(
            f"image share '{share_id}' not found", kind="image share", id=share_id
        ) from None
    return share


def do_update(
    session: Session, actor: Actor, share_id: str, data: ImageShareUpdate, now: datetime
) -> ImageShare:
    share = share_for_change(session, actor, share_id)
    if data.enabled is not None:
        share.enabled = data.enabled
    if "expires_at" in data.model_fields_set:
        share.expires_at = _future("expires_at", data.expires_at, now)
    return share


def do_unshare(session: Session, actor: Actor, share_id: str) -> ImageShare:
    """Remove a share (matrix row 54): new workloads of its target can no longer use it."""
    share = share_for_change(session, actor, share_id)
    session.delete(share)
    session.flush()
    return share


# --- version lists ---------------------------------------------------------------------------
def names(session: Session, actor: Actor, source: str | None = None) -> list[ImageNameRead]:
    """Every image name the caller sees (narrowed by ``source``), with its versions."""
    ensure_presets(session)
    rows = session.scalars(
        select(Image)
        .where(visible(actor, source=source))
        .order_by(Image.kind.desc(), Image.name, Image.version.desc())
    ).all()
    groups: dict[tuple[str | None, str], list[Image]] = defaultdict(list)
    for image in rows:
        groups[(image.tenant_id, image.name)].append(image)
    return [_summary(actor, versions) for versions in groups.values()]


def versions(session: Session, actor: Actor, name: str) -> ImageNameRead:
    """The versions of ``name`` the caller sees; their tenant's (or the preset) first, else
    the ones shared with them."""
    ensure_presets(session)
    rows = session.scalars(
        select(Image).where(visible(actor), Image.name == name).order_by(Image.version.desc())
    ).all()
    if not rows:
        raise NotFound(
            f"image '{name}' not found; `hangar image list` shows the images you can use",
            kind="image",
            id=name,
        )
    home = [i for i in rows if i.tenant_id in (None, actor.tenant_id)]
    picked = home or [i for i in rows if i.tenant_id == rows[0].tenant_id]
    return _summary(actor, picked)


def _summary(actor: Actor, versions: list[Image]) -> ImageNameRead:
    first = versions[0]
    made = [i.created_at for i in versions]
    return ImageNameRead(
        name=first.name, kind=first.kind,
        shared=first.tenant_id is not None and (
            first.tenant_id != actor.tenant_id
            or (not actor.is_tenant_admin and all(i.created_by != actor.id for i in versions))
        ),
        version_count=len(versions), created_at=min(made), updated_at=max(made),
        versions=[ImageRead.model_validate(i) for i in versions],
    )  # fmt: skip
