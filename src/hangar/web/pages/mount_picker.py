"""The console's mount picker (job and dev-environment forms): the workspace's assets the
caller may mount, and the form values (``mount`` boxes, ``kind:id``) as mount requests.

Only what can be mounted is offered: basic datasets, annotated datasets with a published
version, models with a version, and imported code packages. The server checks each again
at submit (``hangar.assets.mounts``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets import code_packages, datasets, registry
from hangar.assets.dataset_orm import DatasetVersion
from hangar.errors import ValidationFailed
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Workspace


@dataclass(frozen=True)
class Mountable:
    value: str  # kind:id, the checkbox's value
    kind: str
    name: str
    detail: str  # what gets mounted (version, template, storage)


def mountable(session: Session, actor: Actor, ws: Workspace) -> list[Mountable]:
    found: list[Mountable] = []
    for d in datasets.visible_datasets(session, actor, workspace_id=ws.id):
        if d.kind == "annotated":
            published = session.scalars(
                select(DatasetVersion.label).where(
                    DatasetVersion.dataset_id == d.id, DatasetVersion.status == "published"
                )
            ).all()
            if not published:
                continue
            detail = f"{d.template}, published {', '.join(published)}"
        else:
            detail = "confidential, no network" if d.confidential else "folder"
        found.append(Mountable(f"dataset:{d.id}", "dataset", d.name, detail))
    for m in registry.visible_models(session, actor, workspace_id=ws.id):
        numbers = [v.number for v in registry.versions(session, m)]
        if numbers:
            found.append(Mountable(f"model:{m.id}", "model", m.name, f"V{max(numbers)}"))
    for p in code_packages.visible_packages(session, actor, workspace_id=ws.id):
        if p.status == "succeeded":
            found.append(Mountable(f"code:{p.id}", "code", p.name, p.start_file or "code"))
    return found


def requests_of(values: list[str]) -> list[dict[str, str]]:
    """``kind:id`` boxes as mount requests (the server checks kinds, ids and limits)."""
    out = []
    for value in values:
        kind, sep, ident = value.partition(":")
        if not sep or not ident:
            raise ValidationFailed.field("mounts", f"{value!r} is not kind:id")
        out.append({"kind": kind, "id": ident})
    return out
