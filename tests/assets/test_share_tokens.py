"""Share tokens (spec 07 §1.4): a version shared by token is imported into another tenant,
bytes equal, charged to the importer and independent of the sharer's later deletion; an
expired, revoked or unknown token is refused; the token is stored only as its hash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from hangar.assets.orm import ModelShareToken
from hangar.db.engine import transaction
from tests.assets.test_model_registry import MODELS, WEIGHTS, upload
from tests.jobs.support import quiet_hangar
from tests.support import Hangar, assert_error, create_tenant, dump_database


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def shared_v1(h: Hangar, validity: str = "7d") -> tuple[dict[str, object], dict[str, object]]:
    ws = h.default_workspace()["id"]
    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "llama-tiny"})
    upload(h, model["id"], WEIGHTS)
    token = h.admin.call("POST", f"{MODELS}/{model['id']}/versions/1/share-tokens", 201,
                         json={"validity": validity})  # fmt: skip
    return model, token


def test_a_token_imports_the_version_into_another_tenant(h: Hangar) -> None:
    model, token = shared_v1(h)
    assert token["version"] == "V1" and str(token["token"]).startswith("hms_")
    assert str(token["token"]) not in dump_database(h.state.engine)  # stored as a hash only
    other = create_tenant(h, "acme", "ada")
    ws = next(w for w in other.call("GET", "/api/v1/workspaces") if w["is_default"])
    preview = other.call("POST", f"{MODELS}/share-tokens/resolve", json={"token": token["token"]})
    assert (preview["model"], preview["version"], preview["size"]) == ("llama-tiny", "V1",
                                                                      len(WEIGHTS))  # fmt: skip
    imported = other.call("POST", f"{MODELS}/import", 201,
                          json={"token": token["token"], "workspace_id": ws["id"],
                                "name": "llama-copy"})  # fmt: skip
    assert imported["label"] == "V1" and imported["source"] == "token"
    assert imported["lineage"]["imported_from"]["model"] == "llama-tiny"
    # The sharer deletes the original: the copy is unaffected.
    h.admin.call("DELETE", f"{MODELS}/{model['id']}", 204)
    [mine] = other.call("GET", MODELS, params={"workspace": ws["id"]})
    got = other.get(f"{MODELS}/{mine['id']}/versions/1/files/model.bin")
    assert got.status_code == 200 and got.content == WEIGHTS
    # A second import as a new version of the importer's own model.
    again = shared_v1(h)[1]
    v2 = other.call("POST", f"{MODELS}/import", 201,
                    json={"token": again["token"], "model_id": mine["id"]})  # fmt: skip
    assert v2["label"] == "V2"


def test_expired_revoked_and_unknown_tokens_are_refused(h: Hangar) -> None:
    model, token = shared_v1(h, "1d")
    other = create_tenant(h, "acme", "ada")
    body = {"token": token["token"]}
    with transaction(h.state.sessions) as session:
        session.execute(update(ModelShareToken).values(
            expires_at=datetime.now(UTC) - timedelta(minutes=1)))  # fmt: skip
    expired = assert_error(other.post(f"{MODELS}/share-tokens/resolve", json=body), 409)
    assert "this share token expired on" in expired["message"]
    _, live = shared_v1_again(h, model)
    h.admin.call("DELETE", f"{MODELS}/share-tokens/{live['id']}", 204)
    revoked = assert_error(other.post(f"{MODELS}/import", json={"token": live["token"],
                                                               "model_id": "x"}), 409)  # fmt: skip
    assert "was revoked" in revoked["message"]
    assert_error(other.post(f"{MODELS}/share-tokens/resolve", json={"token": "hms_nope"}), 404)
    bad = assert_error(h.admin.post(f"{MODELS}/{model['id']}/versions/1/share-tokens",
                                    json={"validity": "forever"}), 422)  # fmt: skip
    assert "validity" in bad["fields"]
    assert_error(other.delete(f"{MODELS}/share-tokens/{live['id']}"), 404)  # not theirs


def shared_v1_again(h: Hangar, model: dict[str, object]) -> tuple[None, dict[str, object]]:
    token = h.admin.call("POST", f"{MODELS}/{model['id']}/versions/1/share-tokens", 201,
                         json={"validity": "permanent"})  # fmt: skip
    assert token["expires_at"] is None
    return None, token
