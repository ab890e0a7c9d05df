"""Every asset row of the permission matrix (spec 01 §5: rows 7-49 and 55-62, 76) against
the access checks the routes call, with real users, roles and objects:

- tenant/workspace admin: allowed on everyone's asset;
- developer and operator on an asset they created: allowed;
- operator on another user's asset: denied (403);
- developer on another user's asset: denied, except the *shared* reads (view, download, view
  files) of a dataset its owner shared with the workspace;
- someone outside the workspace: the asset does not exist (404).

Images (rows 50-54) are covered by tests/images. The API-level tests of each asset kind
(test_datasets, test_model_registry, test_code_packages) exercise the same checks through
their routes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from hangar.assets import code_packages, datasets, registry
from hangar.db.engine import transaction
from hangar.errors import HangarError, NotFound, PermissionDenied
from hangar.jobs.access import access_job, access_workspace_for_create
from hangar.tenancy.access import Actor, tenant_roles
from hangar.tenancy.matrix import BY_KEY, POINTS, Effect
from hangar.tenancy.orm import User
from hangar.workloads.orm import Workload
from tests.jobs.support import quiet_hangar
from tests.support import Api, Hangar

ASSET_ROWS = [p for p in POINTS if 7 <= p.number <= 62 and not 50 <= p.number <= 54]
ROLES = ("admin", "developer_own", "operator_own", "operator_others", "developer_others")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("perm")
    with quiet_hangar(tmp / "home", f"sqlite:///{tmp / 'h.db'}") as h:
        yield build_world(h)


@dataclass
class World:
    h: Hangar
    ws: dict[str, Any]
    users: dict[str, dict[str, Any]]
    apis: dict[str, Api]
    objects: dict[str, dict[str, str]]  # creator -> kind -> id

    def actor(self, username: str) -> Actor:
        with self.h.state.sessions() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            session.expunge(user)
            roles = tenant_roles(session, user)
        return Actor(user=user, tenant_roles=roles, via="session")


def build_world(h: Hangar) -> World:
    ws = h.create_workspace("perm_ws")
    users, apis = {}, {}
    for name, role in (("wadmin", "admin"), ("dev", "developer"), ("dev2", "developer"),
                       ("op", "operator"), ("outsider", None)):  # fmt: skip
        users[name], apis[name] = h.user_api(name)
        if role:
            h.add_member(ws["id"], users[name]["id"], role)
    objects: dict[str, dict[str, str]] = {}
    for creator in ("dev", "op"):
        api = apis[creator]
        basic = api.call("POST", "/api/v1/datasets", 201,
                         json={"workspace_id": ws["id"], "name": f"basic-{creator}"})  # fmt: skip
        annotated = api.call("POST", "/api/v1/datasets/annotated", 201, json={
            "workspace_id": ws["id"], "name": f"sft-{creator}", "data_type": "llm",
            "template": "sft"})  # fmt: skip
        model = api.call("POST", "/api/v1/models", 201,
                         json={"workspace_id": ws["id"], "name": f"m-{creator}"})  # fmt: skip
        code = api.post("/api/v1/code-packages", data={"workspace_id": ws["id"],
                        "name": f"c-{creator}"}, files=[("files", ("a.py", b"print(1)"))])  # fmt: skip
        assert code.status_code == 201, code.text
        with transaction(h.state.sessions) as session:  # the row is all the check reads
            ide = Workload(tenant_id=users[creator]["tenant_id"], workspace_id=ws["id"],
                           created_by=users[creator]["id"], kind="ide", name=f"ide-{creator}",
                           spec={}, state="STOPPED")  # fmt: skip
            session.add(ide)
            session.flush()
            ide_id = ide.id
        objects[creator] = {"dataset": annotated["id"], "basic_dataset": basic["id"],
                            "model": model["id"], "code": code.json()["id"],
                            "devenv": ide_id}  # fmt: skip
    return World(h, ws, users, apis, objects)


def _check(world: World, actor: Actor, key: str, target: str | None) -> None:
    """Run the access check the routes run for ``key`` on ``target`` (None: creation)."""
    namespace = key.split(".", 1)[0]
    with world.h.state.sessions() as session:
        if target is None:
            access_workspace_for_create(session, actor, world.ws["id"], point=key)
        elif namespace in ("dataset", "basic_dataset"):
            write = not BY_KEY[key].shared_read
            datasets.access_dataset(session, actor, target, key, write=write)
        elif namespace == "model":
            registry.access_model(session, actor, target, key, write=True)
        elif namespace == "code":
            code_packages.access_code_package(session, actor, target, key, write=True)
        else:
            access_job(session, actor, target, key, write=True, kind="ide",
                       label="dev environment")  # fmt: skip


def _case(role: str) -> tuple[str, str]:
    """(acting user, creator of the object) for a column of the matrix."""
    return {
        "admin": ("wadmin", "dev"), "developer_own": ("dev", "dev"),
        "operator_own": ("op", "op"), "operator_others": ("op", "dev"),
        "developer_others": ("dev2", "dev"),
    }[role]  # fmt: skip


def _expected(key: str, role: str) -> bool:
    point = BY_KEY[key]
    cell: Effect = {
        "admin": point.admin, "developer_own": point.developer_own,
        "operator_own": point.operator_own, "operator_others": point.operator_others,
        "developer_others": Effect.DENY,  # decision A6: no column, denied
    }[role]  # fmt: skip
    return cell is Effect.ALLOW


def _object_kind(key: str) -> str:
    namespace = key.split(".", 1)[0]
    return "devenv" if namespace == "devenv" else namespace


@pytest.mark.parametrize("key", [p.key for p in ASSET_ROWS] + ["devenv.save_to_code"])
@pytest.mark.parametrize("role", ROLES)
def test_every_asset_row(world: World, key: str, role: str) -> None:
    point = BY_KEY[key]
    actor_name, creator = _case(role)
    if point.creates:
        if role in ("operator_others", "developer_others"):
            pytest.skip("creation has no owner: the spec's cell is n/a")
        target = None
    else:
        target = world.objects[creator][_object_kind(key)]
    call: Callable[[], None] = lambda: _check(world, world.actor(actor_name), key, target)  # noqa: E731
    if _expected(key, role):
        call()
    else:
        with pytest.raises(PermissionDenied):
            call()


def test_the_asset_rows_are_the_specs() -> None:
    """Rows 7-62 are "Allow Allow Allow Deny" (creation rows: n/a for operator-on-others)."""
    for p in ASSET_ROWS:
        assert (p.admin, p.developer_own, p.operator_own) == (Effect.ALLOW,) * 3, p.number
        expected = Effect.NOT_APPLICABLE if p.creates else Effect.DENY
        assert p.operator_others is expected, p.number


@pytest.mark.parametrize("kind", ["dataset", "basic_dataset", "model", "code"])
def test_outside_the_workspace_assets_do_not_exist(world: World, kind: str) -> None:
    key = {"dataset": "dataset.view", "basic_dataset": "basic_dataset.view",
           "model": "model.get_record", "code": "code.view"}[kind]  # fmt: skip
    with pytest.raises(NotFound):
        _check(world, world.actor("outsider"), key, world.objects["dev"][kind])


def test_shared_datasets_are_readable_by_the_workspace_developers(world: World) -> None:
    dev, dev2 = world.apis["dev"], world.apis["dev2"]
    for kind in ("dataset", "basic_dataset"):
        target = world.objects["dev"][kind]
        dev.call("PATCH", f"/api/v1/datasets/{target}", json={"visibility": "workspace"})
        try:
            for p in (p for p in ASSET_ROWS if p.key.startswith(f"{kind}.") and not p.creates):
                if p.shared_read:
                    _check(world, world.actor("dev2"), p.key, target)
                else:
                    with pytest.raises(PermissionDenied):
                        _check(world, world.actor("dev2"), p.key, target)
            got = dev2.get(f"/api/v1/datasets/{target}")
            assert got.status_code == 200
            assert dev2.delete(f"/api/v1/datasets/{target}").status_code == 403
            # Operators do not get shared reads: they are not developers of the workspace.
            with pytest.raises(PermissionDenied):
                _check(world, world.actor("op"), f"{kind}.view", target)
        finally:
            dev.call("PATCH", f"/api/v1/datasets/{target}", json={"visibility": "owner"})


def test_permission_errors_name_the_rule(world: World) -> None:
    target = world.objects["dev"]["model"]
    with pytest.raises(HangarError) as caught:
        _check(world, world.actor("op"), "model.delete_record", target)
    assert "on data created by another user" in str(caught.value)
