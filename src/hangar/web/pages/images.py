"""Images: the preset ones and the tenant's custom ones ("make image", spec 03 §1.7)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep
from hangar.images import making
from hangar.images.orm import Image
from hangar.images.service import ensure_presets, visible
from hangar.tenancy.access import Actor
from hangar.web.chrome import PageChrome
from hangar.web.templating import render

router = APIRouter(prefix="/images", include_in_schema=False)


def _section(session: Session, actor: Actor, flash: str = "") -> dict[str, object]:
    ensure_presets(session)
    rows = session.scalars(
        select(Image)
        .where(visible(actor))
        .order_by(Image.kind.desc(), Image.name, Image.version.desc())
    ).all()
    building = any(i.status == "building" for i in rows)
    return {"images": rows, "flash": flash, "poll": building, "me": actor.id,
            "admin": actor.is_tenant_admin}  # fmt: skip


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome
) -> Response:
    return render(request, "images/list.html", {"chrome": chrome, **_section(session, actor)})


@router.get("/section")
def section(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    """The table again (reloaded while an image is being made)."""
    return render(request, "images/_section.html", _section(session, actor))


@router.post("/{image_id}/cancel", name="image.cancel_make")
def cancel(request: Request, session: SessionDep, actor: CurrentActor, image_id: str) -> Response:
    image = making.do_cancel(session, actor, image_id)
    flash = f"Cancelled making {image.name}:V{image.version}."
    return render(request, "images/_section.html", _section(session, actor, flash))
