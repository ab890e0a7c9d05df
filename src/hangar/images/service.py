"""Images: the preset one, lookups, and what a workload runs with (docs/images.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from hangar.errors import Conflict, NotFound
from hangar.images.orm import Image
from hangar.tenancy.access import Actor

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


def visible(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause: preset images and the caller's tenant's own."""
    return or_(Image.tenant_id.is_(None), Image.tenant_id == actor.tenant_id)


def resolve(session: Session, actor: Actor, ref: str | None) -> Image:
    """An image by id, ``name:V<n>`` or name (its newest ready version, else its newest);
    the preset one when ``ref`` is empty."""
    preset = ensure_presets(session)
    if not ref:
        return preset
    name, _, version = ref.partition(":V")
    by_name = Image.name == name
    if version.isdigit():
        by_name = and_(by_name, Image.version == int(version))
    found = session.scalar(
        select(Image)
        .where(visible(actor), or_(Image.id == ref, by_name))
        .order_by((Image.status == "ready").desc(), Image.version.desc())
        .limit(1)
    )
    if found is None:
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
