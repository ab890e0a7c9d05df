"""Images: ``/api/v1/images`` — the ones a workload may select (preset, the caller's own and
those shared with them), version lists per name, and shares (matrix rows 50-54).

"Make image" itself is an action on a dev environment (``POST /api/v1/devenvs/<id>/image``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from hangar.api.deps import CurrentActor, SessionDep
from hangar.db.base import utcnow
from hangar.errors import NotFound, PermissionDenied
from hangar.images import making, sharing
from hangar.images.orm import Image
from hangar.images.schemas import (
    ImageNameRead,
    ImageRead,
    ImageShareCreate,
    ImageShareRead,
    ImageShareUpdate,
)
from hangar.images.service import ensure_presets, visible
from hangar.tenancy.access import Actor

images = APIRouter(prefix="/api/v1/images", tags=["images"])

Source = Annotated[
    Literal["preset", "custom", "shared"] | None,
    Query(description="preset, custom (yours; all the tenant's for admins) or shared "
          "(shared with you by others)"),
]  # fmt: skip


def _writes(actor: Actor) -> None:
    if not actor.scope_allows("image", write=True):
        raise PermissionDenied(
            "this API token lacks the scope 'image:write'", required_scope="image:write"
        )


@images.get("", name="image.view", response_model=list[ImageRead])
def list_images(session: SessionDep, actor: CurrentActor, source: Source = None) -> list[ImageRead]:
    """Preset images first, then custom ones, newest version first; ``source`` narrows it."""
    ensure_presets(session)
    rows = session.scalars(
        select(Image)
        .where(visible(actor, source=source))
        .order_by(Image.kind.desc(), Image.name, Image.version.desc())
    )
    return [ImageRead.model_validate(r) for r in rows]


@images.get("/names", name="image.view", response_model=list[ImageNameRead])
def list_names(
    session: SessionDep, actor: CurrentActor, source: Source = None
) -> list[ImageNameRead]:
    """One row per image name: version count, first and latest made, its versions."""
    return sharing.names(session, actor, source)


@images.get("/names/{name}/versions", name="image.view", response_model=ImageNameRead)
def list_versions(session: SessionDep, actor: CurrentActor, name: str) -> ImageNameRead:
    """The versions of one image name you can see, newest first."""
    return sharing.versions(session, actor, name)


@images.post(
    "/names/{name}/shares", name="image.share", response_model=ImageShareRead, status_code=201
)
def share_image(
    session: SessionDep, actor: CurrentActor, name: str, body: ImageShareCreate
) -> ImageShareRead:
    """Share every version of a custom image name with a user of your tenant or with another
    tenant (matrix row 53: its maker or a tenant admin)."""
    _writes(actor)
    now = utcnow()
    return sharing.to_read(session, sharing.do_share(session, actor, name, body, now), now)


@images.get("/names/{name}/shares", name="image.view", response_model=list[ImageShareRead])
def list_shares(session: SessionDep, actor: CurrentActor, name: str) -> list[ImageShareRead]:
    """Who a custom image name is shared with (its maker or a tenant admin)."""
    now = utcnow()
    return [sharing.to_read(session, s, now) for s in sharing.list_shares(session, actor, name)]


@images.patch("/shares/{share_id}", name="image.share", response_model=ImageShareRead)
def update_share(
    session: SessionDep, actor: CurrentActor, share_id: str, body: ImageShareUpdate
) -> ImageShareRead:
    """Enable or disable a share, or move its end (``expires_at: null``: no end)."""
    _writes(actor)
    now = utcnow()
    share = sharing.do_update(session, actor, share_id, body, now)
    return sharing.to_read(session, share, now)


@images.delete("/shares/{share_id}", name="image.unshare", status_code=204)
def delete_share(session: SessionDep, actor: CurrentActor, share_id: str) -> None:
    """Remove a share (matrix row 54); running workloads keep the image."""
    _writes(actor)
    sharing.do_unshare(session, actor, share_id)


@images.get("/{image_id}", name="image.view", response_model=ImageRead)
def get_image(session: SessionDep, actor: CurrentActor, image_id: str) -> ImageRead:
    image = session.scalar(select(Image).where(visible(actor), Image.id == image_id))
    if image is None:
        raise NotFound(f"image '{image_id}' not found", kind="image", id=image_id)
    return ImageRead.model_validate(image)


@images.post("/{image_id}/cancel", name="image.cancel_make", response_model=ImageRead)
def cancel_image(session: SessionDep, actor: CurrentActor, image_id: str) -> ImageRead:
    """Cancel making an image (matrix row 52); what was copied is removed."""
    return ImageRead.model_validate(making.do_cancel(session, actor, image_id))
