"""Model version aliases: a name (``prod``, ``baseline``) pointing at one version of a model,
moved by setting it again. Mounts and the API's version references accept an alias where they
take ``V<n>``. Setting or removing one is an edit of the model record (row 33).

Routes: ``GET /api/v1/models/{id}/aliases``, ``PUT …/aliases/{alias} {"version": n}``,
``DELETE …/aliases/{alias}``.
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep
from hangar.assets import registry
from hangar.assets.model_schemas import AliasRead, AliasSet
from hangar.assets.orm import ModelAlias, ModelVersion, RegisteredModel
from hangar.errors import NotFound, ValidationFailed

router = APIRouter(prefix="/api/v1/models", tags=["models"])
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_VERSION = re.compile(r"^[Vv]?(\d+)$")


def check_alias(alias: str) -> str:
    if not _ALIAS.match(alias) or _VERSION.match(alias):
        raise ValidationFailed.field(
            "alias", f"{alias!r} must be 1-32 lower-case letters, digits, '-' or '_', starting "
            "with a letter (e.g. prod); V<n> names versions already",
        )  # fmt: skip
    return alias


def version_by_ref(session: Session, model: RegisteredModel, ref: str) -> ModelVersion:
    """A version by ``V<n>``, ``<n>`` or an alias."""
    number = _VERSION.match(ref.strip())
    if number:
        return registry.version(session, model, int(number.group(1)))
    row = session.get(ModelAlias, (model.id, ref.strip()))
    found = session.get(ModelVersion, row.version_id) if row else None
    if found is None:
        raise NotFound(f"model '{model.name}' has no version or alias '{ref}'")
    return found


def aliases(session: Session, model: RegisteredModel) -> list[AliasRead]:
    rows = session.execute(
        select(ModelAlias.alias, ModelVersion.number)
        .join(ModelVersion, ModelVersion.id == ModelAlias.version_id)
        .where(ModelAlias.model_id == model.id)
        .order_by(ModelAlias.alias)
    ).all()
    return [AliasRead(alias=a, version=f"V{n}") for a, n in rows]


@router.get("/{model_id}/aliases", response_model=list[AliasRead])
def list_aliases(session: SessionDep, actor: CurrentActor, model_id: str) -> list[AliasRead]:
    found = registry.access_model(session, actor, model_id, "model.list_versions", write=False)
    return aliases(session, found.model)


@router.put("/{model_id}/aliases/{alias}", response_model=list[AliasRead])
def set_alias(
    session: SessionDep, actor: CurrentActor, model_id: str, alias: str, body: AliasSet
) -> list[AliasRead]:
    found = registry.access_model(session, actor, model_id, "model.update_record", write=True)
    check_alias(alias)
    target = registry.version(session, found.model, body.version)
    row = session.get(ModelAlias, (found.model.id, alias))
    if row is None:
        session.add(ModelAlias(model_id=found.model.id, alias=alias, version_id=target.id,
                               updated_by=actor.id))  # fmt: skip
    else:
        row.version_id, row.updated_by = target.id, actor.id
    session.flush()
    return aliases(session, found.model)


@router.delete("/{model_id}/aliases/{alias}", status_code=204)
def remove_alias(session: SessionDep, actor: CurrentActor, model_id: str, alias: str) -> None:
    found = registry.access_model(session, actor, model_id, "model.update_record", write=True)
    row = session.get(ModelAlias, (found.model.id, alias))
    if row is None:
        raise NotFound(f"model '{found.model.name}' has no alias '{alias}'")
    session.delete(row)
