"""Images: ``/api/v1/images`` — the ones a workload may select (preset and the tenant's)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from hangar.api.deps import CurrentActor, SessionDep
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
