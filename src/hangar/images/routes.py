"""Images: ``/api/v1/images`` — the ones a workload may select (preset and the tenant's).

"Make image" itself is an action on a dev environment (``POST /api/v1/devenvs/<id>/image``).
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from hangar.api.deps import CurrentActor, SessionDep
from hangar.errors import NotFound
from hangar.images import making
from hangar.images.orm import Image
from hangar.images.schemas import ImageRead
from hangar.images.service import ensure_presets, visible

images = APIRouter(prefix="/api/v1/images", tags=["images"])


@images.get("", response_model=list[ImageRead])
def list_images(session: SessionDep, actor: CurrentActor) -> list[ImageRead]:
    """Preset images first, then the tenant's custom images, newest version first."""
    ensure_presets(session)
    rows = session.scalars(
        select(Image)
        .where(visible(actor))
        .order_by(Image.kind.desc(), Image.name, Image.version.desc())
    )
    return [ImageRead.model_validate(r) for r in rows]


@images.get("/{image_id}", response_model=ImageRead)
def get_image(session: SessionDep, actor: CurrentActor, image_id: str) -> ImageRead:
    image = session.scalar(select(Image).where(visible(actor), Image.id == image_id))
    if image is None:
        raise NotFound(f"image '{image_id}' not found", kind="image", id=image_id)
    return ImageRead.model_validate(image)


@images.post("/{image_id}/cancel", name="image.cancel_make", response_model=ImageRead)
def cancel_image(session: SessionDep, actor: CurrentActor, image_id: str) -> ImageRead:
    """Cancel making an image (matrix row 52); what was copied is removed."""
    return ImageRead.model_validate(making.do_cancel(session, actor, image_id))
