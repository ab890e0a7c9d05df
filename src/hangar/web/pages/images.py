"""Images: the preset ones, your custom ones and those shared with you (tabs), a version list
per name with its share dialog ("make image", spec 03 §1.7; sharing, spec 07 §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep
from hangar.db.base import utcnow
from hangar.errors import HangarError
from hangar.images import making, sharing
from hangar.images.orm import Image
from hangar.images.schemas import ImageShareCreate, ImageShareUpdate
from hangar.images.service import SOURCES, ensure_presets, visible
from hangar.tenancy.access import Actor
from hangar.web.chrome import PageChrome
from hangar.web.forms import blank_to_none, parse
from hangar.web.templating import render

router = APIRouter(prefix="/images", include_in_schema=False)
Box = Annotated[str, Form()]
TABS = (("", "All"), ("preset", "Preset"), ("custom", "My images"),
        ("shared", "Shared with me"))  # fmt: skip


def _source(source: str) -> str | None:
    return source if source in SOURCES else None


def _section(
    session: Session, actor: Actor, flash: str = "", source: str = ""
) -> dict[str, object]:
    ensure_presets(session)
    chosen = _source(source)
    rows = session.scalars(
        select(Image)
        .where(visible(actor, source=chosen))
        .order_by(Image.kind.desc(), Image.name, Image.version.desc())
    ).all()
    shared = {
        i.id
        for i in session.scalars(
            select(Image).where(visible(actor, source="shared"), Image.id.in_([r.id for r in rows]))
        )
    }
    building = any(i.status == "building" for i in rows)
    return {"images": rows, "flash": flash, "poll": building, "me": actor.id,
            "admin": actor.is_tenant_admin, "source": chosen or "", "tabs": TABS,
            "shared": shared}  # fmt: skip


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    source: str = "",
) -> Response:  # fmt: skip
    context = {"chrome": chrome, **_section(session, actor, source=source)}
    return render(request, "images/list.html", context)


@router.get("/section")
def section(
    request: Request, session: SessionDep, actor: CurrentActor, source: str = ""
) -> Response:
    """The table again (reloaded while an image is being made)."""
    return render(request, "images/_section.html", _section(session, actor, source=source))


@router.post("/{image_id}/cancel", name="image.cancel_make")
def cancel(request: Request, session: SessionDep, actor: CurrentActor, image_id: str) -> Response:
    image = making.do_cancel(session, actor, image_id)
    flash = f"Cancelled making {image.name}:V{image.version}."
    return render(request, "images/_section.html", _section(session, actor, flash))


# --- one name: its versions and shares ---------------------------------------------------------
def _name(session: Session, actor: Actor, name: str, flash: str = "") -> dict[str, object]:
    found = sharing.versions(session, actor, name)
    manage = False
    shares: list[object] = []
    if found.kind == "custom" and not found.shared:
        try:
            rows = sharing.list_shares(session, actor, name)
        except HangarError:
            rows = []
        else:
            manage = True
        now = utcnow()
        shares = [sharing.to_read(session, s, now) for s in rows]
    return {"found": found, "manage": manage, "shares": shares, "flash": flash}


@router.get("/names/{name}")
def name_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome, name: str
) -> Response:
    context = {"chrome": chrome, **_name(session, actor, name)}
    return render(request, "images/name.html", context)


@router.post("/names/{name}/shares", name="image.share")
def share(
    request: Request, session: SessionDep, actor: CurrentActor, name: str,
    target: Box = "user", username: Box = "", tenant_name: Box = "", expires_at: Box = "",
    enabled: Box = "",
) -> Response:  # fmt: skip
    data = parse(
        ImageShareCreate,
        username=blank_to_none(username) if target == "user" else None,
        tenant_name=blank_to_none(tenant_name) if target == "tenant" else None,
        expires_at=blank_to_none(expires_at), enabled=enabled == "on",
    )  # fmt: skip
    now = utcnow()
    made = sharing.to_read(session, sharing.do_share(session, actor, name, data, now), now)
    who = f"user {made.username}" if made.user_id else f"tenant {made.tenant_name}"
    flash = f"Shared {name} with {who}."
    return render(request, "images/_shares.html", _name(session, actor, name, flash))


@router.post("/shares/{share_id}/toggle", name="image.share")
def toggle(request: Request, session: SessionDep, actor: CurrentActor, share_id: str) -> Response:
    row = sharing.share_for_change(session, actor, share_id)
    data = ImageShareUpdate(enabled=not row.enabled)
    changed = sharing.do_update(session, actor, share_id, data, utcnow())
    flash = f"Share {changed.id} {'enabled' if changed.enabled else 'disabled'}."
    return render(request, "images/_shares.html", _name(session, actor, changed.name, flash))


@router.post("/shares/{share_id}/delete", name="image.unshare")
def unshare(request: Request, session: SessionDep, actor: CurrentActor, share_id: str) -> Response:
    gone = sharing.do_unshare(session, actor, share_id)
    flash = f"Removed share {gone.id}."
    return render(request, "images/_shares.html", _name(session, actor, gone.name, flash))
