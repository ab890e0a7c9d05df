"""Typed SDK calls return the API's own models, against a live server."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

from hangar.audit.schemas import AuditPage, AuditRead
from hangar.client import UNSET, AuditQuery, HangarAPIError, HangarClient
from hangar.tenancy.matrix import Role
from hangar.tenancy.schemas import (
    GroupQuota,
    Me,
    MemberRead,
    TenantRead,
    TokenCreated,
    UserLimitsRead,
    UserRead,
    WorkspaceRead,
)
from tests.support import ADMIN_PASSWORD, USER_PASSWORD


def test_login_whoami_logout(server_url: str) -> None:
    with HangarClient(server_url) as client:
        created = client.login("admin", ADMIN_PASSWORD, "sdk-login", expires_in_days=1)
        assert isinstance(created, TokenCreated) and client.token == created.token
        me = client.whoami()
        assert isinstance(me, Me) and me.username == "admin" and me.via == "token"
        client.logout()
        assert client.token is None
    with HangarClient(server_url, created.token) as stale, pytest.raises(HangarAPIError) as err:
        stale.whoami()
    assert err.value.status == 401 and "revoked" in err.value.message


def test_users_and_limits_are_typed(admin: HangarClient) -> None:
    user = admin.users.create(username="sdkuser", password=USER_PASSWORD, display_name="S")
    assert isinstance(user, UserRead)
    assert admin.users.find("sdkuser") == user
    assert admin.users.find(user.id) == user
    assert admin.users.update(user.id, email="s@example.org").email == "s@example.org"
    assert admin.users.disable(user.id).disabled is True
    assert admin.users.enable(user.id).disabled is False

    limits = admin.users.set_limits(user.id, max_gpus=2)
    assert isinstance(limits, UserLimitsRead) and limits.overrides.max_gpus == 2
    # Unpassed fields are not sent, so other overrides survive; None clears one.
    limits = admin.users.set_limits(user.id, max_cpus=8)
    assert (limits.overrides.max_gpus, limits.overrides.max_cpus) == (2, 8)
    limits = admin.users.set_limits(user.id, max_gpus=None, pfs_gib=UNSET)
    assert (limits.overrides.max_gpus, limits.overrides.max_cpus) == (None, 8)
    assert admin.users.get_limits(user.id) == limits

    admin.users.delete(user.id)
    assert "sdkuser" not in [u.username for u in admin.users.list()]


def test_groups_workspaces_members(admin: HangarClient) -> None:
    user = admin.users.create(username="sdkmember", password=USER_PASSWORD)
    quota = admin.groups.quota()
    assert isinstance(quota, GroupQuota)
    group = admin.groups.create(name="sdk group", description="d")
    assert admin.groups.quota().custom_groups == quota.custom_groups + 1
    group = admin.groups.add_members(group.id, [user.id])
    assert group.member_ids == [user.id]
    assert admin.groups.update(group.id, description="e").description == "e"
    admin.groups.remove_member(group.id, user.id)
    assert admin.groups.get(group.id).member_ids == []
    admin.groups.delete(group.id)

    ws = admin.workspaces.create(name="sdk_ws", tags={"k": "v"})
    assert isinstance(ws, WorkspaceRead) and ws.tags == {"k": "v"}
    assert admin.workspaces.update(ws.id, description="x").tags == {"k": "v"}
    member = admin.workspaces.add_member(ws.id, user_id=user.id, roles=[Role.DEVELOPER])
    assert isinstance(member, MemberRead) and member.roles == [Role.DEVELOPER]
    member = admin.workspaces.update_member(ws.id, user.id, roles=["operator"])
    assert member.roles == [Role.OPERATOR]
    assert user.id in [m.user_id for m in admin.workspaces.list_members(ws.id)]
    admin.workspaces.remove_member(ws.id, user.id)
    admin.workspaces.delete(ws.id)
    with pytest.raises(HangarAPIError) as err:
        admin.workspaces.get(ws.id)
    assert err.value.status == 404


def test_tokens(admin: HangarClient, server_url: str) -> None:
    created = admin.tokens.create(name="sdk-token", scopes=["*:read"], expires_in_days=None)
    assert created.expires_at is None and created.scopes == ["*:read"]
    assert admin.tokens.find("sdk-token").id == created.id
    assert admin.tokens.find(created.prefix).id == created.id
    assert created.id in [t.id for t in admin.tokens.list(all_users=True)]
    with HangarClient(server_url, created.token) as reader:
        with pytest.raises(HangarAPIError) as err:
            reader.workspaces.create(name="nope")
        assert err.value.status == 403
    assert admin.tokens.revoke(created.id).revoked_at is not None


def test_audit_list_iterate_and_export(admin: HangarClient, tmp_path: Path) -> None:
    admin.workspaces.create(name="sdk_audit")
    query = AuditQuery(action="workspace.create", target="sdk_audit")
    deadline = time.monotonic() + 5
    while admin.audit.list(query).total == 0:  # written just after the response
        assert time.monotonic() < deadline
        time.sleep(0.05)

    page = admin.audit.list(query)
    assert isinstance(page, AuditPage) and page.total == 1
    assert isinstance(page.items[0], AuditRead) and page.items[0].target_name == "sdk_audit"

    everything = list(admin.audit.iter_all(page_size=2))
    assert len(everything) == admin.audit.list().total
    assert len({r.id for r in everything}) == len(everything)

    target = tmp_path / "audit.csv"
    written = admin.audit.export_csv(target, query)
    assert written == target.stat().st_size
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["target_name"] for r in rows] == ["sdk_audit"]
    assert list(tmp_path.iterdir()) == [target]  # the temporary file is gone

    with pytest.raises(HangarAPIError) as err:
        admin.audit.list(AuditQuery(result="failed"), limit=501)
    assert err.value.status == 422 and "limit" in err.value.fields


def test_tenants_for_the_platform_admin(admin: HangarClient) -> None:
    tenant = admin.tenants.create(
        name="acme", owner_username="acme_owner", owner_password=USER_PASSWORD
    )
    assert isinstance(tenant, TenantRead)
    assert "acme" in [t.name for t in admin.tenants.list()]
