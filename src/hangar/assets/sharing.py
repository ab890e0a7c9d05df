"""Share tokens for model versions (spec 07 §1.4).

A token names one version. It is random (``hms_`` + 32 URL-safe characters), shown once, and
stored only as its SHA-256; it is valid for 1 day, 7 days, 30 days or permanently, and its
creator (or whoever may share the model) can revoke it. Anyone holding it may preview the
model's name and version and import it into their own tenant — as a new model or a new version
of one of theirs. Import copies nothing on disk (the blobs are content-addressed) but charges
the importing tenant's storage for them, and the copy does not depend on the sharer's later
deletion: the blobs stay while any tenant references them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets.manifests import Manifest
from hangar.assets.orm import ModelShareToken, ModelVersion, RegisteredModel
from hangar.assets.registry import ModelAccess, do_add_version, on_platform
from hangar.errors import Conflict, NotFound, ValidationFailed

VALIDITY = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30),
            "permanent": None}  # fmt: skip
PREFIX = "hms_"


@dataclass(frozen=True)
class Shared:
    token: ModelShareToken
    version: ModelVersion
    model: RegisteredModel


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def do_create_token(
    session: Session, *, access: ModelAccess, version: ModelVersion, validity: str,
    now: datetime,
) -> tuple[ModelShareToken, str]:  # fmt: skip
    """A new token for ``version``; returns the row and the token (shown once)."""
    on_platform(version, "shared with a token")
    if validity not in VALIDITY:
        raise ValidationFailed.field("validity", f"one of {', '.join(VALIDITY)} (got {validity!r})")
    token = PREFIX + secrets.token_urlsafe(24)
    span = VALIDITY[validity]
    row = ModelShareToken(
        token_hash=_hash(token), tenant_id=access.model.tenant_id, version_id=version.id,
        created_by=access.actor.id, created_at=now, expires_at=None if span is None else now + span,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row, token


def resolve(session: Session, token: str, *, now: datetime) -> Shared:
    """The version a live token names; 404 for an unknown token, 409 for an expired or a
    revoked one (naming when)."""
    row = session.scalar(
        select(ModelShareToken).where(ModelShareToken.token_hash == _hash(token.strip()))
    )
    if row is None:
        raise NotFound("no such share token: check it was copied whole")
    if row.revoked_at is not None:
        raise Conflict(
            f"this share token was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC: ask the "
            "sharer for a new one",
            fields={"token": "revoked"},
        )
    if row.expires_at is not None and row.expires_at <= now:
        raise Conflict(
            f"this share token expired on {row.expires_at:%Y-%m-%d %H:%M} UTC: ask the sharer "
            "for a new one",
            fields={"token": "expired"},
        )
    version = session.get(ModelVersion, row.version_id)
    assert version is not None  # the token goes with its version (ON DELETE CASCADE)
    model = session.get(RegisteredModel, version.model_id)
    assert model is not None
    return Shared(row, version, model)


def do_revoke(session: Session, *, token: ModelShareToken, now: datetime) -> None:
    if token.revoked_at is None:
        token.revoked_at = now


def do_import(
    session: Session, *, shared: Shared, into: ModelAccess, description: str = ""
) -> ModelVersion:
    """The shared version as the next version of ``into`` (a model of the caller's)."""
    manifest = Manifest.from_json(shared.version.manifest)
    lineage = {
        "imported_from": {"model": shared.model.name, "version": shared.version.number,
                          "token_id": shared.token.id, **shared.version.lineage},
    }  # fmt: skip
    return do_add_version(
        session, access=into, manifest=manifest, source="token",
        source_ref=f"{shared.model.name} V{shared.version.number}",
        description=description or shared.version.description, lineage=lineage,
    )  # fmt: skip
